using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of shaders/upsample/upsample.fwd.comp and upsample.bwd.comp (one invocation per element; backward gathers),
/// on their own or fused into a concat (<see cref="UpsampleConcat"/>): writing into / reading from a channel slice of the
/// concat's output (gradient).
/// </summary>
internal static class UpsampleKernels
{
    /// <summary>Specialization constants: mode, scale, H, W of x, then C, CTOT, C0 (CTOT 0: not fused, C unused but in the
    /// .nhwc variant).</summary>
    static uint[] Constants(UpsampleMode mode, int scale, Shape x, int totalChannels = 0, int channelOffset = 0, TensorLayout layout = TensorLayout.Nchw) =>
        new[] { (uint)mode, (uint)scale, (uint)x[2], (uint)x[3], totalChannels == 0 && layout != TensorLayout.Nhwc ? 1u : (uint)x[1], (uint)totalChannels, (uint)channelOffset };

    public static void Forward(ForwardPass f, UpsampleMode mode, int scale) => Forward(f.Emitter, f.Input, f.Output, mode, scale, 0, 0, $"{f.Name}.fwd");

    public static void Backward(BackwardPass b, UpsampleMode mode, int scale)
    {
        if (b.GradInput is not { } dx) return;
        Backward(b.Emitter, b.GradOutput, dx, mode, scale, 0, 0, $"{b.Name}.bwd");
    }

    /// <summary>
    /// Upsamples x [N,C,H,W] into channels [channelOffset, channelOffset + C) of y [N,totalChannels,H*scale,W*scale]
    /// (totalChannels 0: y is the upsampled x itself).
    /// </summary>
    public static void Forward(Emitter e, Value x, Value y, UpsampleMode mode, int scale, int totalChannels, int channelOffset, string label)
    {
        long count = x.Shape.Elements * scale * scale;
        var spec = new KernelSpec(ActivationLayouts.Module("upsample/upsample.fwd", x.Layout), KernelSpec.Buffers(2), 12,
            Constants(mode, scale, x.Shape, totalChannels, channelOffset, x.Layout), Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(count), PushConstants.Ints((int)count, x.Shape[2], x.Shape[3]), label, Arg.In(x), Arg.Out(y));
    }

    /// <summary>
    /// The gradient dx [N,C,H,W] of x from channels [channelOffset, channelOffset + C) of dy [N,totalChannels,H*scale,W*scale]
    /// (totalChannels 0: dy is the gradient of the upsampled x itself).
    /// </summary>
    public static void Backward(Emitter e, Value dy, Value dx, UpsampleMode mode, int scale, int totalChannels, int channelOffset, string label)
    {
        var spec = new KernelSpec("upsample/upsample.bwd", KernelSpec.Buffers(2), 12, Constants(mode, scale, dx.Shape, totalChannels, channelOffset), Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(dx.Shape.Elements), PushConstants.Ints((int)dx.Shape.Elements, dx.Shape[2], dx.Shape[3]), label,
            Arg.In(dy), Arg.Out(dx));
    }
}
