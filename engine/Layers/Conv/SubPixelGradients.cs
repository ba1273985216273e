using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The gradients of a decoder's 3x3 convolution (stride 1, padding 1) over Concat(Upsample(a, 2x nearest), b)
/// (<see cref="ConcatConv2d"/>, <see cref="ConcatInput.SubPixel"/>) by sub-pixel phase, without the concatenation or its
/// gradient. A pixel of a took a 2x2 block of the upsampled tensor, whose 3x3 taps reach dY at 4x4 pixels: along an axis
/// dY at 2i - 1 + m, m = 0..3, with the 3x3 weights K(m) = {2}, {1, 2}, {0, 1}, {0} summed. So the upsampled channels cost
/// 16 products per pixel of a where the 3x3 over the upsampled tensor costs 36 (4/9), in both gradients:
/// - <see cref="EmitInputs"/>: a's gradient is a stride-2, padding-1 convolution of dY with those 4x4 taps; b's the
///   stride-1 input gradient over its channels (the kernel turned, channels swapped). A pass over the weight
///   (shaders/conv2d/conv2d.subpixel_weight.comp) writes each derived weight every step.
/// - <see cref="EmitWeight"/>: the weight gradient of that 4x4 convolution with a in its output gradient's place, and
///   the plain one over b's channels, then one pass (conv2d.subpixel_weight_grad.comp) folds the 4x4 taps back onto the
///   3x3 weight (each 3x3 tap the sum of 2x2 of them) and places b's channels.
/// Each convolution and weight gradient runs on the registry's kernels for its shape (tuned, where the compile tunes), so
/// the path runs on every device; their recorded arithmetic (<see cref="PlannedDispatch.Flops"/>) is what they do.
/// </summary>
internal static class SubPixelGradients
{
    /// <summary>
    /// Writes the gradients of the concatenation's inputs that the pass asks for (<see cref="BackwardPass.GradInputs"/>,
    /// null: not needed), from dY of the convolution <paramref name="a"/> with weight <paramref name="w"/>; where the pass
    /// offers an input's activation (<see cref="BackwardPass.InputActivations"/>) and the kernel has the variant, through
    /// its derivative (<see cref="ActivationGradient"/>).
    /// </summary>
    public static void EmitInputs(Emitter e, ConvAttributes a, ConcatInput input, Value dy, Value w, BackwardPass b, string label)
    {
        int up = input.FirstScale == 2 ? 0 : 1;
        var turned = new ConvAttributes(a.OutChannels, a.InChannels - input.Upsampled.Channels, (3, 3), (1, 1), (1, 1), (1, 1), 1, false);
        var forms = new[] { (Input: up, Form: 1, Conv: LowConv(a, input), Name: "low"), (Input: 1 - up, Form: 0, Conv: turned, Name: "skip") };
        foreach (var (n, form, conv, name) in forms)
        {
            if (b.GradInputs[n] is not { } grad) continue;
            var derived = DerivedWeight(e, a, input, w, form, $"{label}.{name}");
            b.ActivatedGradInputs[n] = b.InputActivations[n] is { } g && ConvForward.EmitActivationGradient(e, conv, dy, derived, grad, g, $"{label}.{name}");
            if (!b.ActivatedGradInputs[n]) ConvForward.Emit(e, conv, dy, derived, null, grad, Activation.None, 0, $"{label}.{name}");
        }
    }

    /// <summary>
    /// Writes the weight gradient <paramref name="dw"/> of the convolution <paramref name="a"/> from dY and its two inputs;
    /// with <paramref name="db"/> true where the kernel of b's part (whose plain operand is dY) wrote the bias gradient too.
    /// </summary>
    public static bool EmitWeight(Emitter e, ConvAttributes a, ConcatInput input, Value dy, Value dw, Value? db, string label)
    {
        var (ca, a0) = input.Upsampled;
        int cout = a.OutChannels, cin = a.InChannels;
        var (small, other) = input.FirstScale == 2 ? (input.First, input.Second) : (input.Second, input.First);
        var dwl = e.NewValue(new Shape(ca, cout, 4, 4), ValueKind.Transient, $"{label}.low");
        var dws = e.NewValue(new Shape(cout, cin - ca, 3, 3), ValueKind.Transient, $"{label}.skip");
        Conv2dBackward.WeightGrad(e, LowConv(a, input), small, dy, dwl, $"{label}.low");
        bool biasWritten = Conv2dBackward.WeightGrad(e, SkipConv(a, input), dy, other, dws, $"{label}.skip", db);
        var spec = new KernelSpec("conv2d/conv2d.subpixel_weight_grad", KernelSpec.Buffers(3), 4, new[] { (uint)cin, (uint)cout, (uint)a0, (uint)ca },
            Emitter.ElementwiseLocal);
        long count = dw.Shape.Elements;
        e.Dispatch(spec, e.ElementwiseGroups(count), PushConstants.Words((uint)count), $"{label}.fold", Arg.In(dwl), Arg.In(dws), Arg.Out(dw));
        return biasWritten;
    }

    /// <summary>The convolution that carries dY (the decoder's output channels) to a's gradient: 4x4 taps, stride 2, padding 1.</summary>
    static ConvAttributes LowConv(ConvAttributes a, ConcatInput input) =>
        new(a.OutChannels, input.Upsampled.Channels, (4, 4), (2, 2), (1, 1), (1, 1), 1, false);

    /// <summary>The decoder's convolution over b's channels alone (3x3, stride 1, padding 1, no bias).</summary>
    static ConvAttributes SkipConv(ConvAttributes a, ConcatInput input) =>
        new(a.InChannels - input.Upsampled.Channels, a.OutChannels, (3, 3), (1, 1), (1, 1), (1, 1), 1, false);

    /// <summary>A weight conv2d.subpixel_weight.comp writes from <paramref name="a"/>'s each step: FORM 1 the 4x4 taps of a's
    /// gradient [CA, COUT, 4, 4], FORM 0 b's turned and swapped [CB, COUT, 3, 3].</summary>
    static Value DerivedWeight(Emitter e, ConvAttributes a, ConcatInput input, Value w, int form, string name)
    {
        var (ca, a0) = input.Upsampled;
        var shape = form == 1 ? new Shape(ca, a.OutChannels, 4, 4) : new Shape(a.InChannels - ca, a.OutChannels, 3, 3);
        var derived = e.NewValue(shape, ValueKind.Derived, $"{name}.weight");
        var spec = new KernelSpec("conv2d/conv2d.subpixel_weight", KernelSpec.Buffers(2), 4,
            new[] { (uint)form, (uint)a.InChannels, (uint)a.OutChannels, (uint)a0, (uint)ca }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(shape.Elements), PushConstants.Words((uint)shape.Elements), $"{name}.weight", Arg.In(w), Arg.Out(derived));
        return derived;
    }
}
