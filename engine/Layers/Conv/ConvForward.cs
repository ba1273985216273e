using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A convolution forward as a layer needs it (Conv2d's forward, ConvTranspose2d's input gradient, the flipped stride-1
/// input gradient). Untuned, the entry the registry picks for the device and shape runs. Under CompileOptions.Autotune
/// every entry that can compute the layer and is preferred on the device (or named in CompileOptions.PreferKernels)
/// offers its candidates — the direct kernel its tiles, the shared-memory tiled kernel, the cooperative-matrix kernel
/// under fp16 — and the tuner keeps the fastest for the shape on this device. Under f16 activation storage each
/// candidate is timed as the f16-storage variant it dispatches (<see cref="Emitter.Variant"/>), on scratch buffers of
/// the values' sizes; a candidate whose result disagrees with the plain kernel's is never chosen (<see cref="KernelTuner"/>).
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
        // The reference every candidate's result is checked against comes first: the plain f32-arithmetic entry the
        // registry picks untuned, its default tile (each entry lists its default first).
        var key = TuningKey(e, a, x, bias, y, act, entries);
        var reference = entries.Where(k => k.Arithmetic == Precision.Fp32 && !k.NeedsTuning).OrderByDescending(k => k.Priority).FirstOrDefault();
        var candidates = entries.OrderBy(k => k == reference ? 0 : 1)
            .SelectMany(k => k.Candidates(e, a, x, w, bias, y, act, slope).Select(c => c with { Name = $"{k.GetType().Name}:{c.Name}" }))
            .ToList();
        var args = Args(x, w, bias, y);
        var timed = candidates.Select(c => c with { Spec = Emitter.Variant(c.Spec, label, args) }).ToList();
        var bindings = args.Select(v => new TuneBinding(v.Value!.Bytes, v.Value.ElementType.SizeInBytes(), v.Access != Access.Read)).ToArray();
        var chosen = candidates[e.Tuner!.Choose(key, timed, bindings, AgreementTolerance(e.Precision))];
        Dispatch(e, chosen, x, w, bias, y, label);
    }

    /// <summary>
    /// How far a tuning candidate's output may lie from the reference's (of the largest value): f32 candidates differ
    /// only in the order of their sums; under Fp16 both round the output to f16, and fp16-arithmetic ones their operands.
    /// </summary>
    static double AgreementTolerance(Precision p) => p == Precision.Fp16 ? 1e-2 : 1e-3;

    /// <summary>One of an entry's candidates, dispatched on the layer's values: every conv-forward kernel binds x, w, bias (w's buffer when there is none), y.</summary>
    public static void Dispatch(Emitter e, TuneCandidate c, Value x, Value w, Value? bias, Value y, string label) =>
        e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(x, w, bias, y));

    static Arg[] Args(Value x, Value w, Value? bias, Value y) => new[] { Arg.In(x), Arg.In(w), Arg.In(bias ?? w), Arg.Out(y) };

    /// <summary>What identifies a layer's tuning: the entries timed, the precision and read path, shapes and attributes.</summary>
    static string TuningKey(Emitter e, ConvAttributes a, Value x, Value? bias, Value y, Activation act, IEnumerable<IConv2dForward> entries) =>
        $"conv2d.fwd|{string.Join("+", entries.Select(k => k.GetType().Name))}|{e.Precision}|{(e.TexelReads ? "texel" : "storage")}|" +
        $"{x.Shape}->{y.Shape}|k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} d{a.Dilation.H}x{a.Dilation.W} " +
        $"g{a.Groups}|{(bias != null ? "bias" : "no bias")}|{act}";
}
