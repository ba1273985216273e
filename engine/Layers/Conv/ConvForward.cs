using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A convolution forward as a layer needs it (Conv2d's forward, ConvTranspose2d's input gradient, the flipped stride-1
/// input gradient, a conv reading a concatenation: <see cref="EmitConcat"/>). Untuned, the entry the registry picks for
/// the device and shape runs. Under CompileOptions.Autotune every entry that can compute the layer and is preferred on
/// the device (or named in CompileOptions.PreferKernels) offers its candidates — the direct kernel its tiles, the
/// shared-memory tiled kernel, the cooperative-matrix kernels under fp16 — and the tuner keeps the fastest for the shape
/// on this device (<see cref="EntryTuning"/>). <see cref="Choose"/> tells which candidate that is before dispatching it.
/// </summary>
internal static class ConvForward
{
    public static void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        int since = e.StepCount;
        if (TunedWithEntry(e, a, x, w, bias, y, act, slope, label)?.Chosen is { } chosen) Dispatch(e, chosen, x, w, bias, y, label);
        else Entry(e, a, x, y).Emit(e, a, x, w, bias, y, act, slope, label);
        e.AttributeFlops(since, label, Flops(a, y.Shape));
    }

    /// <summary>
    /// The convolution <paramref name="a"/> of <paramref name="x"/> (no bias) as an input gradient that leaves through the
    /// derivative of the activation <paramref name="g"/> (its ".dact" variant): untuned, the candidate <see cref="Emit"/>
    /// would dispatch for that activation, in its variant; tuned, the fastest variant (<see cref="ChooseEpilogue"/>). False,
    /// with nothing emitted, where there is none.
    /// </summary>
    public static bool EmitActivationGradient(Emitter e, ConvAttributes a, Value x, Value w, Value y, ActivationGradient g, string label)
    {
        var args = Args(x, w, null, y).Append(Arg.In(g.Output)).ToArray();
        if (ChooseEpilogue(e, a, x, w, null, y, g.Activation, g.Slope, ".dact", (_, c) => g.Variant(c), args, label) is not { } variant) return false;
        int since = e.StepCount;
        Dispatch(e, variant.Chosen, args, label);
        e.AttributeFlops(since, label, Flops(a, y.Shape));
        return true;
    }

    /// <summary>
    /// The candidate for the layer in an epilogue variant (<paramref name="variant"/> makes it of an entry's candidate, null
    /// where that has none: ".dact", ".pool.keep", ".unpool"), with its entry; null where there is none. Untuned, the
    /// variant of the candidate <see cref="Emit"/> would dispatch, so the kernel is the one the layer runs anyway. Under
    /// CompileOptions.Autotune, the fastest of the entries' candidates that have the variant, each timed in that form on
    /// <paramref name="args"/> (the variant's bindings; operation "conv2d.fwd" + <paramref name="suffix"/>, which names every
    /// form of the variant the key must tell apart) and checked
    /// against the reference entry's first, so the tuner never picks a variant it has not run on the device.
    /// </summary>
    internal static (IConv2dForward Entry, TuneCandidate Chosen)? ChooseEpilogue(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y,
        Activation act, float slope, string suffix, Func<IConv2dForward, TuneCandidate, TuneCandidate?> variant, Arg[] args, string label)
    {
        if (e.Tuner == null)
        {
            var (entry, chosen) = ChooseWithEntry(e, a, x, w, bias, y, act, slope, label);
            return chosen != null && variant(entry, chosen) is { } v ? (entry, v) : null;
        }
        IEnumerable<TuneCandidate> Of(IConv2dForward k) => k.Candidates(e, a, x, w, bias, y, act, slope).Select(c => variant(k, c)).OfType<TuneCandidate>();
        return Tuned(e, a, x, y, bias, act, suffix, Of, withCandidates: true, args, label);
    }

    /// <summary>The arithmetic of the convolution <paramref name="a"/> with output <paramref name="y"/>: 2 (C_in / groups) KH KW per output element.</summary>
    public static double Flops(ConvAttributes a, Shape y) => 2.0 * a.InChannels / a.Groups * a.Kernel.H * a.Kernel.W * y.Elements;

    /// <summary>The candidate <see cref="Emit"/> would dispatch (untuned, the registry's entry's default), or null where
    /// that entry has none for the layer (its Emit then says why).</summary>
    public static TuneCandidate? Choose(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label) =>
        ChooseWithEntry(e, a, x, w, bias, y, act, slope, label).Chosen;

    /// <summary><see cref="Choose"/>, with the entry the candidate is one of.</summary>
    internal static (IConv2dForward Entry, TuneCandidate? Chosen) ChooseWithEntry(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y,
        Activation act, float slope, string label)
    {
        if (TunedWithEntry(e, a, x, w, bias, y, act, slope, label) is { } tuned) return tuned;
        var entry = Entry(e, a, x, y);
        return (entry, Default(e, entry, a, x, w, bias, y, act, slope));
    }

    /// <summary>
    /// The convolution <paramref name="a"/> of <paramref name="x"/> into <paramref name="y"/>, and the 2x2, stride-2 max
    /// pool of <paramref name="y"/> into the value <paramref name="pooled"/> makes (called only where it is taken) in the
    /// same kernel: the candidate <see cref="Emit"/> would
    /// dispatch, in its ".pool.keep" variant (shaders/include/pool_epilogue.glsl: y as the plain kernel writes it, and the
    /// window maxima). The compiler asks for it where a pool reads a convolution's output that something else reads too (a
    /// UNet encoder's skip, a training step's gradients), so the pool pass does not read y back. The kernels with the
    /// variant: the direct kernel's storage-buffer form with an even column block, the Winograd kernel, the tensor-core
    /// patch kernel's even-row tiles, cooperative_matrix2's gathered form in either scope; both layouts; and
    /// cooperative_matrix2's tensor-addressed form, NCHW, in its .pool tiles. Untuned, only where the entry the layer would
    /// run anyway has it (its first such tile); tuned, the fastest variant, timed and checked as such
    /// (<see cref="ChooseEpilogue"/>). False, with nothing emitted, elsewhere (texel reads, the other kernels), and the pool
    /// runs on its own.
    /// </summary>
    public static bool EmitWithPool(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Func<Value> pooled, Activation act, float slope,
        string label)
    {
        if (e.TexelReads) return false;
        TuneCandidate? Keep(IConv2dForward k, TuneCandidate c) => k.Pools(c, e.Device) ? c.WithBufferVariant(".pool.keep") : null;
        TuneCandidate? variant;
        if (e.Tuner != null)
        {
            // Timed as the variant on stand-ins of its bindings (the pooled output made only where it is taken).
            var standIn = Value.StandIn(PooledShape(y), y.ElementType, y.Layout, $"{label} pooled output");
            variant = ChooseEpilogue(e, a, x, w, bias, y, act, slope, ".pool.keep", Keep, Args(x, w, bias, standIn).Append(Arg.Out(y)).ToArray(), label)?.Chosen;
        }
        else
        {
            // The entry's first tile the pool divides where its default is not one (the direct kernel's odd column blocks
            // of some widths): the same sums per element.
            var (entry, chosen) = ChooseWithEntry(e, a, x, w, bias, y, act, slope, label);
            if (chosen != null && !entry.Pools(chosen, e.Device))
                chosen = e.DefaultOf(entry, entry.Candidates(e, a, x, w, bias, y, act, slope).Where(c => entry.Pools(c, e.Device)));
            variant = chosen == null ? null : Keep(entry, chosen);
        }
        if (variant == null) return false;
        int since = e.StepCount;
        Dispatch(e, variant, Args(x, w, bias, pooled()).Append(Arg.Out(y)).ToArray(), label);
        e.AttributeFlops(since, label, variant.Flops ?? Flops(a, y.Shape));
        return true;
    }

    /// <summary>The untuned candidate of <paramref name="entry"/> for the layer (<see cref="Emitter.DefaultOf"/>), or null where it has none.</summary>
    static TuneCandidate? Default(Emitter e, IConv2dForward entry, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope) =>
        e.DefaultOf(entry, entry.Candidates(e, a, x, w, bias, y, act, slope));

    static IConv2dForward Entry(Emitter e, ConvAttributes a, Value x, Value y) =>
        KernelRegistry.Choose<IConv2dForward>("conv2d.fwd", x.ElementType, x.Layout, e, k => k.Accepts(a, x.Shape, y.Shape));

    /// <summary>Under CompileOptions.Autotune, the fastest candidate of the entries that can run the layer, with its entry; else null.</summary>
    static (IConv2dForward Entry, TuneCandidate? Chosen)? TunedWithEntry(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y,
        Activation act, float slope, string label)
    {
        if (e.Tuner == null) return null;
        return Tuned(e, a, x, y, bias, act, "", k => k.Candidates(e, a, x, w, bias, y, act, slope), withCandidates: false, Args(x, w, bias, y), label);
    }

    /// <summary>
    /// The tuner's choice among the entries that can run the layer (with <paramref name="withCandidates"/>, those that offer
    /// any of <paramref name="candidatesOf"/>'s), timed on <paramref name="args"/> under operation "conv2d.fwd" +
    /// <paramref name="suffix"/> and the layer's key (<see cref="Describe"/>), with its entry; null where no entry takes it.
    /// </summary>
    static (IConv2dForward Entry, TuneCandidate Chosen)? Tuned(Emitter e, ConvAttributes a, Value x, Value y, Value? bias, Activation act, string suffix,
        Func<IConv2dForward, IEnumerable<TuneCandidate>> candidatesOf, bool withCandidates, Arg[] args, string label)
    {
        var entries = KernelRegistry.Candidates<IConv2dForward>("conv2d.fwd", x.ElementType, x.Layout, e,
            k => k.CanRun(a, x.Shape, y.Shape) && (!withCandidates || candidatesOf(k).Any()));
        return entries.Count == 0 ? null
            : EntryTuning.ChooseWithEntry(e, "conv2d.fwd" + suffix, entries, candidatesOf, args, $"{x.Shape}->{y.Shape}|{Describe(a, bias, act)}", label);
    }

    /// <summary>The layer in a tuning key: geometry, bias, activation.</summary>
    internal static string Describe(ConvAttributes a, Value? bias, Activation act) =>
        $"k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} d{a.Dilation.H}x{a.Dilation.W} g{a.Groups}|" +
        $"{(bias != null ? "bias" : "no bias")}|{act}";

    /// <summary>
    /// The forward of a convolution whose input is the concatenation <paramref name="input"/> of two tensors, each
    /// upsampled by nearest neighbour by its integer scale on the way in (<see cref="ConcatConv2d"/>), through the
    /// candidates that read it (<see cref="IConv2dForward.ConcatCandidates"/>: the ".concat" variants of the entries that
    /// have one, and for a decoder's 3x3 over a 2x upsample the sub-pixel kernels, <see cref="Conv2dCoopMat2SubPixel"/>,
    /// <see cref="Conv2dCoopMatPatchSubPixel"/> and <see cref="Conv2dDirectSubPixel"/>):
    /// timed among those under CompileOptions.Autotune, else the registry's pick with its default candidate. False, with
    /// nothing emitted, where none takes the layer (texel reads, which those variants do not have; groups; a shape only
    /// other kernels take). Its arithmetic is the candidate's where it says (the sub-pixel kernels: the products they do),
    /// else the direct convolution's (as a Winograd kernel's is).
    /// </summary>
    public static bool EmitConcat(Emitter e, ConvAttributes a, ConcatInput input, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        if (e.TexelReads || a.Groups != 1) return false;
        var (first, second) = (input.First, input.Second);
        var args = new[] { Arg.In(first), Arg.In(w), Arg.In(bias ?? w), Arg.Out(y), Arg.In(second) };
        var chosen = EntryTuning.ChooseVariant<IConv2dForward>(e, "conv2d.fwd", "conv2d.fwd.concat", first.ElementType, first.Layout,
            k => k.CanRunConcat(a, input, y.Shape), k => k.AcceptsConcat(a, input, y.Shape), k => k.ConcatCandidates(e, a, input, w, bias, y, act, slope), args,
            $"{first.Shape}x{input.FirstScale}+{second.Shape}x{input.SecondScale}->{y.Shape}|{Describe(a, bias, act)}", label);
        if (chosen == null) return false;
        int since = e.StepCount;
        Dispatch(e, chosen, args, label);
        e.AttributeFlops(since, label, chosen.Flops ?? Flops(a, y.Shape));
        return true;
    }

    /// <summary>
    /// The forward of a convolution followed by a 2x2, stride-2 max pool (<see cref="ConvPool2d"/>) writing only the
    /// pooled output <paramref name="pooled"/>, through the ".pool" variant of a candidate that has one
    /// (<see cref="IConv2dForward.Pools"/>: the direct kernel's even-column tiles, the Winograd kernel, the tensor-core
    /// patch kernel's even-row tiles, cooperative_matrix2's tiles, gathered or tensor-addressed): timed among those under CompileOptions.Autotune, else the first such candidate of
    /// the registry's pick. False, with nothing emitted, where none takes the layer (texel reads; an entry without the
    /// variant).
    /// </summary>
    public static bool EmitPool(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Shape convOutput, Value pooled, Activation act, float slope,
        string label)
    {
        if (e.TexelReads) return false;
        // The entries size their candidates from the convolution's output: a stand-in of it, never bound.
        var y = Value.StandIn(convOutput, pooled.ElementType, pooled.Layout, $"{label} unpooled output");
        IEnumerable<TuneCandidate> Of(IConv2dForward k) => k.Candidates(e, a, x, w, bias, y, act, slope).Where(c => k.Pools(c, e.Device))
            .Select(c => c with { Spec = c.Spec with { Module = c.Spec.Module + ".pool" } });
        var args = Args(x, w, bias, pooled);
        var chosen = EntryTuning.ChooseVariant<IConv2dForward>(e, "conv2d.fwd", "conv2d.fwd.pool", x.ElementType, x.Layout,
            k => k.CanRun(a, x.Shape, convOutput), k => k.Accepts(a, x.Shape, convOutput), Of, args,
            $"{x.Shape}->{pooled.Shape}|{Describe(a, bias, act)}", label);
        if (chosen == null) return false;
        int since = e.StepCount;
        Dispatch(e, chosen, args, label);
        e.AttributeFlops(since, label, Flops(a, convOutput));
        return true;
    }

    /// <summary>
    /// An entry's untuned dispatch: its first candidate (its default tile), or, where no tile fits the layer on the device,
    /// a compile error naming the entry, the shape and the device.
    /// </summary>
    public static void DispatchDefault(IConv2dForward entry, Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act,
        float slope, string label)
    {
        var chosen = Default(e, entry, a, x, w, bias, y, act, slope)
            ?? throw new GraphException($"{label}: no tile of {entry.GetType().Name} fits {x.Shape} -> {y.Shape} on {e.Device.Name} (workgroup counts or shared memory).");
        Dispatch(e, chosen, x, w, bias, y, label);
    }

    /// <summary>
    /// One of an entry's candidates, dispatched on the layer's values: every conv-forward kernel binds x, w, bias (w's
    /// buffer when there is none), y; one with a prepare pass binds, in place of w, the weight that pass writes into a
    /// value of its own (<see cref="ValueKind.Derived"/>).
    /// </summary>
    /// <remarks>A ".dact" candidate (<see cref="ActivationGradient.Variant"/>) binds the activation's output after y.</remarks>
    public static void Dispatch(Emitter e, TuneCandidate c, Value x, Value w, Value? bias, Value y, string label, ActivationGradient? g = null) =>
        Dispatch(e, c, g == null ? Args(x, w, bias, y) : Args(x, w, bias, y).Append(Arg.In(g.Output)).ToArray(), label);

    /// <summary>One of an entry's candidates, dispatched on <paramref name="args"/> (a fused epilogue's after the four
    /// <see cref="Args"/> gives); one with a prepare pass binds the value that pass writes in place of the weight.</summary>
    public static void Dispatch(Emitter e, TuneCandidate c, Arg[] args, string label)
    {
        var w = args[1].Value!;
        if (c.Prepare is { } p)
        {
            if (p.Input != 1) throw new InvalidOperationException($"{label}: a conv-forward candidate can only prepare its weight (binding 1), not binding {p.Input}.");
            args[1] = Arg.In(e.Prepared(p, w, label));
        }
        e.Dispatch(c.Spec, c.Groups, c.Push, label, args);
    }

    /// <summary>A 2x2, stride-2 pool's output shape from its input's (the logical [N, C, H, W], either layout).</summary>
    static Shape PooledShape(Value y) => new(y.Shape[0], y.Shape[1], y.Shape[2] / 2, y.Shape[3] / 2);

    /// <summary>Every conv-forward kernel's first four bindings: x, w, bias (w's buffer when there is none), y.</summary>
    public static Arg[] Args(Value x, Value w, Value? bias, Value y) => new[] { Arg.In(x), Arg.In(w), Arg.In(bias ?? w), Arg.Out(y) };
}
