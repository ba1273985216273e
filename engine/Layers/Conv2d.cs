using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// 2-D convolution over [N, C, H, W] (PyTorch's Conv2d): weight [Cout, Cin/groups, KH, KW], optional bias,
/// stride, zero padding, dilation and groups. An activation after it is fused into its kernel.
/// </summary>
public sealed class Conv2d : Layer, IFusableProducer
{
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias) { }

    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups = 1, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"conv2d: channels must be positive ({inChannels} -> {outChannels}).");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"conv2d: groups={groups} must divide both {inChannels} input and {outChannels} output channels.");
        if (kernelSize.H <= 0 || kernelSize.W <= 0 || stride.H <= 0 || stride.W <= 0 || dilation.H <= 0 || dilation.W <= 0 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException("conv2d: kernel size, stride and dilation must be positive, padding not negative.");
        Attributes = new ConvAttributes(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias);
    }

    public ConvAttributes Attributes { get; }
    public override string Kind => "conv2d";

    public override IReadOnlyList<ParameterSpec> Parameters
    {
        get
        {
            var a = Attributes;
            int fanIn = a.InChannels / a.Groups * a.Kernel.H * a.Kernel.W;
            var list = new List<ParameterSpec> { new("weight", new Shape(a.OutChannels, a.InChannels / a.Groups, a.Kernel.H, a.Kernel.W), ParameterInit.UniformFanIn, fanIn) };
            if (a.Bias) list.Add(new("bias", new Shape(a.OutChannels), ParameterInit.UniformFanIn, fanIn));
            return list;
        }
    }

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        var a = Attributes;
        if (x.Rank != 4) throw Mismatch($"conv2d takes [N,C,H,W], got {x}.");
        if (x[1] != a.InChannels) throw Mismatch($"conv2d expects {a.InChannels} input channels, got {x[1]} ({x}).");
        int oh = a.OutSize(x[2], 0), ow = a.OutSize(x[3], 1);
        if (oh <= 0 || ow <= 0) throw Mismatch($"conv2d: input {x[2]}x{x[3]} is smaller than the {a.Kernel.H}x{a.Kernel.W} kernel (dilation {a.Dilation.H}, padding {a.Padding.H}).");
        return new Shape(x[0], a.OutChannels, oh, ow);
    }

    internal override void Forward(ForwardPass f)
    {
        var (w, bias) = (f.Param("weight"), Attributes.Bias ? f.Param("bias") : null);
        if (f.Pool is not { } pool || !ConvForward.EmitWithPool(f.Emitter, Attributes, f.Input, w, bias, f.Output, pool.Take, f.Activation, f.Slope,
                $"{f.Name}+{pool.Name}.fwd"))
            ConvForward.Emit(f.Emitter, Attributes, f.Input, w, bias, f.Output, f.Activation, f.Slope, $"{f.Name}.fwd");
    }

    /// <summary>Every geometry: the direct kernel's NHWC variant takes any (Conv2dDirectNhwc).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>
    /// Every geometry: the input gradient through the flipped weight where that takes it (Conv2dInputGradFlippedNhwc:
    /// stride 1), else by output phase where a phased entry takes it (Conv2dInputGradCoopMatStridedNhwc,
    /// Conv2dInputGradPhasesNhwc) or the gather's NHWC variant (Conv2dInputGradGatherNhwc); the weight and bias gradients
    /// take any (Conv2dWeightGradDirectNhwc, Conv2dBiasGradDirectNhwc; on GPUs the tiled, Winograd and tensor-core
    /// entries' NHWC forms where they accept the layer).
    /// </summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => Conv2dBackward.Emit(b, Attributes);

    /// <summary>Strides the block by the stride and widens the radius by what the window reaches past it (square geometry only).</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r)
    {
        var a = Attributes;
        if (a.Stride.H != a.Stride.W || a.Kernel.H != a.Kernel.W || a.Padding.H != a.Padding.W || a.Dilation.H != a.Dilation.W)
            throw new NotSupportedException("tiling handles square kernels, strides, paddings and dilations only.");
        int grow = Math.Max(0, Math.Max(a.Padding.H, (a.Kernel.H - 1) * a.Dilation.H - a.Padding.H - a.Stride.H + 1));
        return (s * a.Stride.H, r + s * grow);
    }
}
