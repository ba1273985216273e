using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Transposed 2-D convolution over [N, C, H, W] (PyTorch's ConvTranspose2d): weight [Cin, Cout/groups, KH, KW],
/// optional bias [Cout], stride, zero padding, output padding, dilation and groups;
/// Hout = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1. An activation after it is fused into its kernel.
/// </summary>
public sealed class ConvTranspose2d : Layer, IFusableProducer
{
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, bool bias = true, int dilation = 1)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (outputPadding, outputPadding),
            groups, bias, (dilation, dilation)) { }

    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, int groups = 1, bool bias = true, (int H, int W)? dilation = null)
    {
        var d = dilation ?? (1, 1);
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"conv_transpose2d: channels must be positive ({inChannels} -> {outChannels}).");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"conv_transpose2d: groups={groups} must divide both {inChannels} input and {outChannels} output channels.");
        if (kernelSize.H <= 0 || kernelSize.W <= 0 || stride.H <= 0 || stride.W <= 0 || d.H <= 0 || d.W <= 0 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException("conv_transpose2d: kernel size, stride and dilation must be positive, padding not negative.");
        if (outputPadding.H < 0 || outputPadding.W < 0 || (outputPadding.H >= stride.H && outputPadding.H >= d.H) || (outputPadding.W >= stride.W && outputPadding.W >= d.W))
            throw new ArgumentException($"conv_transpose2d: output padding {outputPadding} must be smaller than the stride {stride} or the dilation {d}.");
        Attributes = new ConvAttributes(inChannels, outChannels, kernelSize, stride, padding, d, groups, bias, outputPadding);
    }

    public ConvAttributes Attributes { get; }
    public override string Kind => "conv_transpose2d";

    public override IReadOnlyList<ParameterSpec> Parameters
    {
        get
        {
            var a = Attributes;
            // PyTorch computes fan_in from weight.size(1) * KH * KW, i.e. Cout/groups * KH * KW, for weight and bias.
            int fanIn = a.OutChannels / a.Groups * a.Kernel.H * a.Kernel.W;
            var list = new List<ParameterSpec> { new("weight", new Shape(a.InChannels, a.OutChannels / a.Groups, a.Kernel.H, a.Kernel.W), ParameterInit.UniformFanIn, fanIn) };
            if (a.Bias) list.Add(new("bias", new Shape(a.OutChannels), ParameterInit.UniformFanIn, fanIn));
            return list;
        }
    }

    /// <summary>Output size along axis 0 (height) or 1 (width).</summary>
    public int OutSize(int input, int axis)
    {
        var a = Attributes;
        var (k, s, p, d, op) = axis == 0
            ? (a.Kernel.H, a.Stride.H, a.Padding.H, a.Dilation.H, a.OutputPadding.H)
            : (a.Kernel.W, a.Stride.W, a.Padding.W, a.Dilation.W, a.OutputPadding.W);
        return (input - 1) * s - 2 * p + d * (k - 1) + op + 1;
    }

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        var a = Attributes;
        if (x.Rank != 4) throw Mismatch($"conv_transpose2d takes [N,C,H,W], got {x}.");
        if (x[1] != a.InChannels) throw Mismatch($"conv_transpose2d expects {a.InChannels} input channels, got {x[1]} ({x}).");
        int oh = OutSize(x[2], 0), ow = OutSize(x[3], 1);
        if (oh <= 0 || ow <= 0)
            throw Mismatch($"conv_transpose2d: input {x[2]}x{x[3]} gives an empty {oh}x{ow} output (padding {a.Padding} is too large for the {a.Kernel.H}x{a.Kernel.W} kernel).");
        return new Shape(x[0], a.OutChannels, oh, ow);
    }

    /// <summary>
    /// The input gradient of the matching convolution, with the bias and activation: for a stride-1 layer where the
    /// registry takes that gradient as the forward over the flipped weight (GPUs; Conv2dInputGradFlipped), through the
    /// forward kernels; for strided layers, where the registry takes that gradient by output phase (PhasedInputGrad: on
    /// tensor cores under Fp16, on the f32 implicit GEMM on GPUs), phase by phase; else the gather (shaders/conv_transpose2d).
    /// </summary>
    internal override void Forward(ForwardPass f)
    {
        var a = Attributes;
        var bias = a.Bias ? f.Param("bias") : null;
        var conv = new ConvAttributes(a.OutChannels, a.InChannels, a.Kernel, a.Stride, a.Padding, a.Dilation, a.Groups, false);
        string label = $"{f.Name}.fwd";
        int since = f.Emitter.StepCount;
        if (Conv2dInputGradFlipped.TakesTransposed(f.Emitter, conv, f.Input, f.Output, a.OutputPadding))
            Conv2dInputGradFlipped.EmitWith(f.Emitter, conv, f.Input, f.Param("weight"), bias, f.Output, f.Activation, f.Slope, label);
        else if (PhasedInputGrad.ForTransposed(f.Emitter, conv, f.Input, f.Output) is { } phased)
            phased.EmitPhases(f.Emitter, conv, f.Input, f.Param("weight"), bias, f.Output, f.Activation, f.Slope, label);
        else
            ConvKernels.Gather(f.Emitter, a, f.Input, f.Param("weight"), bias, f.Output, f.Activation, f.Slope, label);
        // Each input element meets KH KW weights of every output channel of its group.
        f.Emitter.AttributeFlops(since, label, ConvForward.Flops(conv, f.Input.Shape));
    }

    /// <summary>
    /// Every geometry: a stride-1 layer through the flipped-weight entry's NHWC form (the NHWC forward kernels), a strided
    /// one by output phase where a phased entry's NHWC form takes it (Conv2dInputGradCoopMatStridedNhwc,
    /// Conv2dInputGradPhasesNhwc), else through the gather's NHWC variant (conv_transpose2d.fwd.nhwc).
    /// </summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Every geometry: dX on the NHWC forward kernels, dW and db on the NHWC weight and bias gradients.</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>
    /// dX is the plain convolution of dY with the same weight (read as Conv2d's [Cin, Cout/groups, KH, KW]); dW reduces
    /// x times the shifted dY over the batch and pixels; db sums dY per channel.
    /// </summary>
    internal override void Backward(BackwardPass b)
    {
        var a = Attributes;
        var w = b.Param("weight");
        if (b.GradInput is { } dx)
        {
            var conv = new ConvAttributes(a.OutChannels, a.InChannels, a.Kernel, a.Stride, a.Padding, a.Dilation, a.Groups, false);
            // Through the activation of the layer before, where offered and the kernel has the variant (ActivationGradient).
            b.ActivatedGradInputs[0] = b.InputActivations[0] is { } g
                && ConvForward.EmitActivationGradient(b.Emitter, conv, b.GradOutput, w, dx, g, $"{b.Name}.bwd_input");
            if (!b.ActivatedGradInputs[0]) ConvForward.Emit(b.Emitter, conv, b.GradOutput, w, null, dx, Activation.None, 0, $"{b.Name}.bwd_input");
        }
        Conv2dBackward.WeightGrad(b.Emitter, a, b.Input, b.GradOutput, b.GradParam("weight"), $"{b.Name}.bwd_weight");
        if (a.Bias) Conv2dBackward.BiasGrad(b.Emitter, b.GradOutput, b.GradParam("bias"), $"{b.Name}.bwd_bias");
    }
}
