using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd.comp: direct convolution, up to 16 output channels x up to 8 columns per invocation
/// read straight from global memory, one flat index over all invocations. Works on every device; the baseline other conv kernels must beat.
/// </summary>
internal sealed class Conv2dDirect : IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;

    public void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        // Shapes are baked (fixed per compiled graph); the shader also takes them from push constants.
        var constants = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
            (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)a.Groups, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
            (uint)cin, (uint)cout, (uint)h, (uint)wd, (uint)oh, (uint)ow,
        };
        int px = ConvKernels.PixelBlock(ow), co = ConvKernels.ChannelBlock(cout / a.Groups);
        bool texel = ConvKernels.TexelReadsWithWeight(e, w);
        var spec = new KernelSpec(texel ? "conv2d/conv2d.fwd.texel" : "conv2d/conv2d.fwd", ConvKernels.WithWeightBindings(texel, 4), 28, constants.Concat(new[] { (uint)px, (uint)co }).ToArray(), ConvKernels.FlatLocal);
        long invocations = (long)n * ((cout + co - 1) / co) * oh * ((ow + px - 1) / px);
        var groups = ConvKernels.Groups(e, invocations, ConvKernels.FlatLocal);
        e.Dispatch(spec, groups, PushConstants.Ints(n, cin, cout, h, wd, oh, ow), label,
            Arg.In(x), Arg.In(w), Arg.In(bias ?? w), Arg.Out(y));
    }
}
