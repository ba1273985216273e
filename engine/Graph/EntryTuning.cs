using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// How an operation with several registered entries lets the emitter's tuner (CompileOptions.Autotune) pick among their
/// candidates: every entry offers its candidates, the plain f32-arithmetic entry the registry would pick untuned comes
/// first (its default candidate is the reference every other result is checked against), each is timed as the storage
/// variant it dispatches (<see cref="Emitter.Variant"/>) on scratch buffers of the bound values' sizes, and one that
/// disagrees with the reference by more than 1e-3 of the largest value (1e-2 under fp16) is never chosen.
/// </summary>
internal static class EntryTuning
{
    /// <summary>
    /// The chosen candidate (its name prefixed with its entry's). <paramref name="shape"/> describes the layer (shapes,
    /// attributes) in the tuning key, after the operation, the entries, the precision and the read path.
    /// </summary>
    public static TuneCandidate Choose<T>(Emitter e, string operation, IReadOnlyList<T> entries, Func<T, IEnumerable<TuneCandidate>> candidatesOf,
        Arg[] args, string shape, string label) where T : class, IKernelEntry =>
        ChooseWithEntry(e, operation, entries, candidatesOf, args, shape, label).Chosen;

    /// <summary><see cref="Choose"/>, with the entry whose candidate was chosen.</summary>
    public static (T Entry, TuneCandidate Chosen) ChooseWithEntry<T>(Emitter e, string operation, IReadOnlyList<T> entries,
        Func<T, IEnumerable<TuneCandidate>> candidatesOf, Arg[] args, string shape, string label) where T : class, IKernelEntry
    {
        var reference = entries.Where(k => k.Arithmetic == Precision.Fp32 && !k.NeedsTuning).OrderByDescending(k => k.Priority).FirstOrDefault();
        var candidates = entries.OrderBy(k => k == reference ? 0 : 1)
            .SelectMany(k => candidatesOf(k).Select(c => (Entry: k, Candidate: c with { Name = $"{k.GetType().Name}:{c.Name}" })))
            .ToList();
        var timed = candidates.Select(c => AsDispatched(c.Candidate, args, label)).ToList();
        var key = $"{operation}|{string.Join("+", entries.Select(k => k.GetType().Name))}|{e.Precision}|{(e.TexelReads ? "texel" : "storage")}|{shape}";
        return candidates[e.Tuner!.Choose(key, timed, Bindings(args), AgreementTolerance(e.Precision))];
    }

    /// <summary>
    /// One kernel's block sizes, where no entry offers a choice: the first of <paramref name="candidates"/> untuned (its
    /// default, and the reference the others must agree with), else the fastest, timed as <see cref="Choose"/> times an
    /// entry's, under the key "<paramref name="operation"/>|precision|read path|<paramref name="shape"/>".
    /// </summary>
    public static TuneCandidate ChooseAmong(Emitter e, string operation, IReadOnlyList<TuneCandidate> candidates, Arg[] args, string shape, string label)
    {
        if (e.Tuner == null || candidates.Count == 1) return candidates[0];
        var timed = candidates.Select(c => AsDispatched(c, args, label)).ToList();
        var key = $"{operation}|{e.Precision}|{(e.TexelReads ? "texel" : "storage")}|{shape}";
        return candidates[e.Tuner.Choose(key, timed, Bindings(args), AgreementTolerance(e.Precision))];
    }

    /// <summary>What the tuner allocates for each bound value: its size, float width, and whether the kernel writes it.</summary>
    static TuneBinding[] Bindings(Arg[] args) =>
        args.Select(v => new TuneBinding(v.Value!.Bytes, v.Value.ElementType.SizeInBytes(), v.Access != Access.Read)).ToArray();

    /// <summary>
    /// A layer's kernel in a form only some entries or candidates have (a ".concat" or ".pool" module): <paramref name="variants"/>
    /// gives an entry's candidates in that form, none where it has none. Under CompileOptions.Autotune, the fastest of those
    /// of the entries of <paramref name="operation"/> that <paramref name="canRun"/> keeps (timed under
    /// <paramref name="tuningOperation"/>, <see cref="Choose"/>); untuned, the first of those of the entry the registry picks
    /// by <paramref name="accepts"/>. Null where none has the form: the layer then runs its unfused kernels.
    /// </summary>
    public static TuneCandidate? ChooseVariant<T>(Emitter e, string operation, string tuningOperation, ElementType type, TensorLayout layout,
        Func<T, bool> canRun, Func<T, bool> accepts, Func<T, IEnumerable<TuneCandidate>> variants, Arg[] args, string shape, string label)
        where T : class, IKernelEntry
    {
        if (e.Tuner != null)
        {
            var entries = KernelRegistry.Candidates<T>(operation, type, layout, e, k => canRun(k) && variants(k).Any());
            if (entries.Count > 0) return Choose(e, tuningOperation, entries, variants, args, shape, label);
        }
        var entry = KernelRegistry.TryChoose(operation, type, layout, e, accepts);
        return entry == null ? null : e.DefaultOf(entry, variants(entry));
    }

    /// <summary>
    /// The candidate as the graph would dispatch it on <paramref name="args"/>: its kernel's storage variant
    /// (<see cref="Emitter.Variant"/>) for its bindings, a prepared input in the place of the one it is made from; a split's
    /// kernel for the f32 partials it writes in the output's place, and its finish for the partials, the bias and the output
    /// in the output's own element type (reduce/partials' f16 build where the output is an f16 activation).
    /// </summary>
    static TuneCandidate AsDispatched(TuneCandidate c, Arg[] args, string label)
    {
        var bound = c.Prepare == null ? args : Prepared(args, c.Prepare);
        if (c.Finish is not { } f) return c with { Spec = Emitter.Variant(c.Spec, label, bound) };
        int output = TuneFinish.Output(args.Select(a => a.Access != Access.Read));
        var partials = Value.StandIn(new Shape(f.Splits, (int)f.Count), ElementType.F32, TensorLayout.RowMajor, $"{label} partials");
        var split = (Arg[])bound.Clone();
        split[output] = Arg.Out(partials);
        var sum = f.Bindings(Arg.In(partials), args[output], i => args[i]);
        return c with { Spec = Emitter.Variant(c.Spec, label, split), Finish = f with { Spec = Emitter.Variant(f.Spec, label, sum) } };
    }

    /// <summary>The candidate's bindings: <paramref name="args"/> with the prepared input in place of the one it is made from (for the variant check).</summary>
    static Arg[] Prepared(Arg[] args, TunePrepare p)
    {
        var prepared = (Arg[])args.Clone();
        var from = args[p.Input].Value!;
        prepared[p.Input] = Arg.In(Value.StandIn(new Shape(p.Elements), p.Type, TensorLayout.RowMajor, $"{from.Name} prepared"));
        return prepared;
    }

    /// <summary>
    /// How far a candidate's output may lie from the reference's (of the largest value): f32 candidates differ only in the
    /// order of their sums; under Fp16 outputs are rounded to f16, and fp16-arithmetic candidates round their operands.
    /// </summary>
    static double AgreementTolerance(Precision p) => p == Precision.Fp16 ? 1e-2 : 1e-3;
}
