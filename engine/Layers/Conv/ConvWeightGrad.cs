using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The convolution weight gradient as Conv2d's and ConvTranspose2d's gradient rules need it. Untuned, the default
/// candidate of the entry the registry picks for the device and shape runs. Under CompileOptions.Autotune every entry
/// that accepts the layer and is preferred on the device (or named in CompileOptions.PreferKernels) offers its
/// candidates — the tiled kernel, the cooperative-matrix one under fp16, the direct kernel — and the tuner keeps the
/// fastest, timing a split candidate with its ordered sum of partials; a candidate whose result disagrees with the
/// plain f32 kernel's is never chosen (<see cref="KernelTuner"/>).
/// </summary>
internal static class ConvWeightGrad
{
    public static void Emit(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw, string label)
    {
        bool Accepts(IConv2dWeightGrad k) => k.Accepts(a, plain.Shape, shifted.Shape);
        var entries = e.Tuner == null
            ? new List<IConv2dWeightGrad>()
            : KernelRegistry.Candidates<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
        if (entries.Count == 0)
        {
            var entry = KernelRegistry.Choose<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
            Dispatch(e, entry.Candidates(e, a, plain, shifted, dw)[0], plain, shifted, dw, label);
            return;
        }
        // The reference every candidate's result is checked against comes first: the plain f32-arithmetic entry the
        // registry would pick untuned, its default candidate.
        var reference = entries.Where(k => k.Arithmetic == Precision.Fp32 && !k.NeedsTuning).OrderByDescending(k => k.Priority).FirstOrDefault();
        var candidates = entries.OrderBy(k => k == reference ? 0 : 1)
            .SelectMany(k => k.Candidates(e, a, plain, shifted, dw).Select(c => c with { Name = $"{k.GetType().Name}:{c.Name}" }))
            .ToList();
        var args = Args(plain, shifted, dw);
        var timed = candidates.Select(c => c with { Spec = Emitter.Variant(c.Spec, label, args) }).ToList();
        var bindings = args.Select(v => new TuneBinding(v.Value!.Bytes, v.Value.ElementType.SizeInBytes(), v.Access != Access.Read)).ToArray();
        var key = $"conv2d.bwd_weight|{string.Join("+", entries.Select(k => k.GetType().Name))}|{e.Precision}|{(e.TexelReads ? "texel" : "storage")}|" +
                  $"{plain.Shape}x{shifted.Shape}->{dw.Shape}|k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} " +
                  $"d{a.Dilation.H}x{a.Dilation.W} g{a.Groups}";
        // f32 candidates differ only in the order of their sums; fp16-arithmetic ones round their operands.
        double tolerance = e.Precision == Precision.Fp16 ? 1e-2 : 1e-3;
        Dispatch(e, candidates[e.Tuner!.Choose(key, timed, bindings, tolerance)], plain, shifted, dw, label);
    }

    /// <summary>
    /// One candidate on the layer's values: straight into dw, or into a [splits, dw] scratch of partial sums that its
    /// finish (shaders/reduce/partials.comp) adds into dw in split order.
    /// </summary>
    public static void Dispatch(Emitter e, TuneCandidate c, Value plain, Value shifted, Value dw, string label)
    {
        if (c.Finish == null)
        {
            e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, dw));
            return;
        }
        int splits = checked((int)(c.Finish.PartialBytes / 4 / dw.Shape.Elements));
        var partial = PartialSums.Scratch(e, splits, dw.Shape.Elements, label);
        e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, partial));
        PartialSums.Sum(e, partial, dw, $"{label}.sum");
    }

    static Arg[] Args(Value plain, Value shifted, Value dw) => new[] { Arg.In(plain), Arg.In(shifted), Arg.Out(dw) };
}
