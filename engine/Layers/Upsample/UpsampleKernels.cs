using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of shaders/upsample/upsample.fwd.comp and upsample.bwd.comp (one invocation per element, or per 4 where
/// <see cref="Vector"/> allows; backward gathers),
/// on their own or fused into a concat (<see cref="UpsampleConcat"/>): writing into / reading from a channel slice of the
/// concat's output (gradient).
/// </summary>
internal static class UpsampleKernels
{
    /// <summary>Specialization constants: mode, scale, H, W of x, then C, CTOT, C0 (CTOT 0: not fused, C unused but in the
    /// .nhwc variant), VEC.</summary>
    static uint[] Constants(UpsampleMode mode, int scale, Shape x, int totalChannels, int channelOffset, TensorLayout layout, bool vector) =>
        new[]
        {
            (uint)mode, (uint)scale, (uint)x[2], (uint)x[3], totalChannels == 0 && layout != TensorLayout.Nhwc ? 1u : (uint)x[1],
            (uint)totalChannels, (uint)channelOffset, vector ? 1u : 0u,
        };

    /// <summary>
    /// Whether the 4-wide form of the kernels applies (their headers): 4 columns of a row in NCHW (the forward's output
    /// width, the backward's input width, a multiple of 4), 4 channels of a pixel in NHWC (the forward only; C, and the
    /// concat's channels and offset when fused, multiples of 4).
    /// </summary>
    public static bool Vector(bool backward, Shape x, int scale, int totalChannels, int channelOffset, TensorLayout layout) =>
        layout == TensorLayout.Nhwc
            ? !backward && x[1] % 4 == 0 && totalChannels % 4 == 0 && channelOffset % 4 == 0
            : (backward ? x[3] : x[3] * scale) % 4 == 0;

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
        bool vector = Vector(false, x.Shape, scale, totalChannels, channelOffset, x.Layout);
        var spec = new KernelSpec(ActivationLayouts.Module("upsample/upsample.fwd", x.Layout), KernelSpec.Buffers(2), 12,
            Constants(mode, scale, x.Shape, totalChannels, channelOffset, x.Layout, vector), Emitter.ElementwiseLocal);
        e.Dispatch(spec, vector ? e.VectorGroups(count) : e.ElementwiseGroups(count), PushConstants.Ints((int)count, x.Shape[2], x.Shape[3]),
            label, Arg.In(x), Arg.Out(y));
        if (totalChannels != 0) e.DeclareBytes((x.Shape.Elements + count) * x.ElementType.SizeInBytes()); // x, and its slice of y
    }

    /// <summary>
    /// The gradient dx [N,C,H,W] of x from channels [channelOffset, channelOffset + C) of dy [N,totalChannels,H*scale,W*scale]
    /// (totalChannels 0: dy is the gradient of the upsampled x itself).
    /// </summary>
    public static void Backward(Emitter e, Value dy, Value dx, UpsampleMode mode, int scale, int totalChannels, int channelOffset, string label)
    {
        bool vector = Vector(true, dx.Shape, scale, totalChannels, channelOffset, dx.Layout);
        var spec = new KernelSpec(ActivationLayouts.Module("upsample/upsample.bwd", dx.Layout), KernelSpec.Buffers(2), 12,
            Constants(mode, scale, dx.Shape, totalChannels, channelOffset, dx.Layout, vector), Emitter.ElementwiseLocal);
        long count = dx.Shape.Elements;
        e.Dispatch(spec, vector ? e.VectorGroups(count) : e.ElementwiseGroups(count), PushConstants.Ints((int)count, dx.Shape[2], dx.Shape[3]),
            label, Arg.In(dy), Arg.Out(dx));
        if (totalChannels != 0) e.DeclareBytes(count * (scale * scale + 1) * dx.ElementType.SizeInBytes()); // its slice of dy, and dx
    }
}
