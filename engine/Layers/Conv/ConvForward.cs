using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A convolution forward as a layer needs it (Conv2d's forward, ConvTranspose2d's input gradient, the flipped stride-1
/// input gradient). Untuned, the entry the registry picks for the device and shape runs. Under CompileOptions.Autotune
/// every entry that can compute the layer and is preferred on the device (or named in CompileOptions.PreferKernels)
/// offers its candidates — the direct kernel its tiles, the shared-memory tiled kernel, the cooperative-matrix kernel
/// under fp16 — and the tuner keeps the fastest for the shape on this device (<see cref="EntryTuning"/>).
/// </summary>
internal static class ConvForward
{
    public static void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        var entries = e.Tuner == null
            ? new List<IConv2dForward>()
            : KernelRegistry.Candidates<IConv2dForward>("conv2d.fwd", x.ElementType, x.Layout, e, k => k.CanRun(a, x.Shape, y.Shape));
        if (entries.Count == 0)
        {
            KernelRegistry.Choose<IConv2dForward>("conv2d.fwd", x.ElementType, x.Layout, e, k => k.Accepts(a, x.Shape, y.Shape))
                .Emit(e, a, x, w, bias, y, act, slope, label);
            return;
        }
        var shape = $"{x.Shape}->{y.Shape}|k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} " +
                    $"d{a.Dilation.H}x{a.Dilation.W} g{a.Groups}|{(bias != null ? "bias" : "no bias")}|{act}";
        var chosen = EntryTuning.Choose(e, "conv2d.fwd", entries, k => k.Candidates(e, a, x, w, bias, y, act, slope), Args(x, w, bias, y), shape, label);
        Dispatch(e, chosen, x, w, bias, y, label);
    }

    /// <summary>
    /// One of an entry's candidates, dispatched on the layer's values: every conv-forward kernel binds x, w, bias (w's
    /// buffer when there is none), y; one with a prepare pass binds, in place of w, the weight that pass writes into a
    /// value of its own (<see cref="ValueKind.Derived"/>).
    /// </summary>
    public static void Dispatch(Emitter e, TuneCandidate c, Value x, Value w, Value? bias, Value y, string label)
    {
        var args = Args(x, w, bias, y);
        if (c.Prepare is { } p)
        {
            if (p.Input != 1) throw new InvalidOperationException($"{label}: a conv-forward candidate can only prepare its weight (binding 1), not binding {p.Input}.");
            var packed = e.NewValue(new Shape(p.Elements), ValueKind.Derived, $"{label}.packed_weight", p.Type);
            e.Dispatch(p.Spec, p.Groups, p.Push, $"{label}.pack", Arg.In(w), Arg.Out(packed));
            args[1] = Arg.In(packed);
        }
        e.Dispatch(c.Spec, c.Groups, c.Push, label, args);
    }

    static Arg[] Args(Value x, Value w, Value? bias, Value y) => new[] { Arg.In(x), Arg.In(w), Arg.In(bias ?? w), Arg.Out(y) };
}
