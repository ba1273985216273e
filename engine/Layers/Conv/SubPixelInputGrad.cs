using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The input gradients of a decoder's 3x3 convolution (stride 1, padding 1) over Concat(Upsample(a, 2x nearest), b)
/// (<see cref="ConcatConv2d"/>, <see cref="ConcatInput.SubPixel"/>), each computed from dY straight into its input's
/// gradient, with no gradient of the concatenation in between:
/// - a's is a stride-2, padding-1 convolution of dY with 4x4 taps, whose weights are sums of the 3x3 ones: a pixel of a
///   took a 2x2 block of the upsampled tensor, whose gradients reach dY at 4x4 pixels. The upsampled channels cost 16
///   products per pixel of a where the concatenation's gradient cost 36 (9 at each of 4 pixels) and the upsample's
///   backward then summed them;
/// - b's is the stride-1 input gradient over its channels (the kernel turned, channels swapped).
/// A pass over the weight (shaders/conv2d/conv2d.subpixel_weight.comp) writes each derived weight every step; the
/// convolutions are the registry's forward kernels for their shapes (tuned, where the compile tunes), so the path runs on
/// every device. The per-dispatch arithmetic (<see cref="PlannedDispatch.Flops"/>) is what these convolutions do.
/// </summary>
internal static class SubPixelInputGrad
{
    /// <summary>
    /// Writes the gradients of the concatenation's inputs that <paramref name="grads"/> asks for (null: not needed), from
    /// dY of the convolution <paramref name="a"/> with weight <paramref name="w"/>.
    /// </summary>
    public static void Emit(Emitter e, ConvAttributes a, ConcatInput input, Value dy, Value w, IReadOnlyList<Value?> grads, string label)
    {
        var (ca, a0) = input.Upsampled;
        int up = input.FirstScale == 2 ? 0 : 1, cout = a.OutChannels, cb = a.InChannels - ca;
        if (grads[up] is { } low)
        {
            var wl = Derived(e, a, input, low: true, new Shape(ca, cout, 4, 4), $"{label}.low");
            ConvForward.Emit(e, new ConvAttributes(cout, ca, (4, 4), (2, 2), (1, 1), (1, 1), 1, false), dy, wl, null, low, Activation.None, 0, $"{label}.low");
        }
        if (grads[1 - up] is { } other)
        {
            var ws = Derived(e, a, input, low: false, new Shape(cb, cout, 3, 3), $"{label}.skip");
            ConvForward.Emit(e, new ConvAttributes(cout, cb, (3, 3), (1, 1), (1, 1), (1, 1), 1, false), dy, ws, null, other, Activation.None, 0, $"{label}.skip");
        }

        Value Derived(Emitter e, ConvAttributes a, ConcatInput input, bool low, Shape shape, string name)
        {
            var derived = e.NewValue(shape, ValueKind.Derived, $"{name}.weight");
            var spec = new KernelSpec("conv2d/conv2d.subpixel_weight", KernelSpec.Buffers(2), 4,
                new[] { low ? 1u : 0u, (uint)a.InChannels, (uint)a.OutChannels, (uint)a0, (uint)ca }, Emitter.ElementwiseLocal);
            e.Dispatch(spec, e.ElementwiseGroups(shape.Elements), PushConstants.Words((uint)shape.Elements), $"{name}.weight", Arg.In(w), Arg.Out(derived));
            return derived;
        }
    }
}
