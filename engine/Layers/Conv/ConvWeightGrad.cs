using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The convolution weight gradient as Conv2d's and ConvTranspose2d's gradient rules need it. Untuned, the default
/// candidate of the entry the registry picks for the device and shape runs. Under CompileOptions.Autotune every entry
/// that accepts the layer and is preferred on the device (or named in CompileOptions.PreferKernels) offers its
/// candidates — the tiled kernel, the cooperative-matrix one under fp16, the direct kernel — and the tuner keeps the
/// fastest (<see cref="EntryTuning"/>), timing a split candidate with its ordered sum of partials.
/// </summary>
internal static class ConvWeightGrad
{
    /// <summary>
    /// Emits dw; with <paramref name="db"/> (a Conv2d's bias gradient: plain is dY) the chosen kernel writes it too where
    /// it can (<see cref="SummingBias"/>), and then true.
    /// </summary>
    public static bool Emit(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw, string label, Value? db = null)
    {
        bool Accepts(IConv2dWeightGrad k) => k.Accepts(a, plain.Shape, shifted.Shape);
        var entries = e.Tuner == null
            ? new List<IConv2dWeightGrad>()
            : KernelRegistry.Candidates<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
        if (entries.Count == 0)
        {
            var entry = KernelRegistry.Choose<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
            var candidate = e.DefaultOf(entry, entry.Candidates(e, a, plain, shifted, dw))
                ?? throw new GraphException($"{label}: no tile of {entry.GetType().Name} fits {plain.Shape} x {shifted.Shape} on {e.Device.Name}.");
            return DispatchWithBias(e, candidate, plain, shifted, dw, label, null, db);
        }
        var chosen = EntryTuning.Choose(e, "conv2d.bwd_weight", entries, k => k.Candidates(e, a, plain, shifted, dw), Args(plain, shifted, dw),
            $"{plain.Shape}x{shifted.Shape}->{dw.Shape}|{Describe(a)}", label);
        return DispatchWithBias(e, chosen, plain, shifted, dw, label, null, db);
    }

    /// <summary><paramref name="c"/>, in its form that writes <paramref name="db"/> too where it has one (then true).</summary>
    static bool DispatchWithBias(Emitter e, TuneCandidate c, Value plain, Value shifted, Value dw, string label, Value? second, Value? db)
    {
        var summing = db != null ? SummingBias(c) : null;
        Dispatch(e, summing ?? c, plain, shifted, dw, label, second, summing != null ? db : null);
        return summing != null;
    }

    /// <summary>
    /// <paramref name="c"/> in its ".bias" variant where its module has one, which writes the bias gradient too: a
    /// Conv2d's, whose plain operand is dY, summed per channel from the dY blocks the kernel stages anyway by the
    /// workgroups of its first column tile, into a buffer bound after the others (<see cref="Dispatch"/>); else null, and
    /// the bias gradient keeps its own pass. Every weight-gradient kernel a GPU may pick has the variant, .concat forms
    /// included (the tensor-core patch, im2col and cooperative_matrix2 kernels (its tensor-addressed form too), the tiled and Winograd ones), so the
    /// tuner's choice never brings the pass back; lavapipe's direct kernel has none. The candidate is chosen (or timed)
    /// as it is: the variant changes which kernel runs for no layer.
    /// </summary>
    internal static TuneCandidate? SummingBias(TuneCandidate c) => c.WithBufferVariant(".bias");

    /// <summary>The layer's geometry in a tuning key.</summary>
    static string Describe(ConvAttributes a) =>
        $"k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} d{a.Dilation.H}x{a.Dilation.W} g{a.Groups}";

    /// <summary>
    /// The weight gradient of a convolution whose input is the concatenation <paramref name="input"/> of two tensors, each
    /// upsampled by nearest neighbour by its integer scale (<see cref="ConcatConv2d"/>), through the ".concat" variant of an entry that has one
    /// (<see cref="IConv2dWeightGrad.ReadsConcat"/>): timed among those under CompileOptions.Autotune, else the registry's
    /// pick with its default candidate. False, with nothing emitted, where none takes the layer (texel reads, groups, an
    /// entry without the variant: the direct kernel, lavapipe's). With <paramref name="db"/>, <paramref name="biasWritten"/>
    /// says whether the kernel wrote the bias gradient too (<see cref="Emit"/>).
    /// </summary>
    public static bool EmitConcat(Emitter e, ConvAttributes a, Value dy, ConcatInput input, Value dw, string label, Value? db, out bool biasWritten)
    {
        biasWritten = false;
        if (e.TexelReads || a.Groups != 1) return false;
        IEnumerable<TuneCandidate> Of(IConv2dWeightGrad k) => k.ReadsConcat
            ? k.Candidates(e, a, dy, input.StandIn, dw).Select(c => ConcatReads.Variant(c, input))
            : Enumerable.Empty<TuneCandidate>();
        bool Accepts(IConv2dWeightGrad k) => k.Accepts(a, dy.Shape, input.Full);
        var (first, second) = (input.First, input.Second);
        var chosen = EntryTuning.ChooseVariant<IConv2dWeightGrad>(e, "conv2d.bwd_weight", "conv2d.bwd_weight.concat", dy.ElementType, dy.Layout,
            Accepts, Accepts, Of, new[] { Arg.In(dy), Arg.In(first), Arg.Out(dw), Arg.In(second) },
            $"{dy.Shape}x{first.Shape}x{input.FirstScale}+{second.Shape}x{input.SecondScale}->{dw.Shape}|{Describe(a)}", label);
        if (chosen == null) return false;
        int since = e.StepCount;
        biasWritten = DispatchWithBias(e, chosen, dy, first, dw, label, second, db);
        e.AttributeFlops(since, label, Flops(dy, dw));
        return true;
    }

    /// <summary>A weight gradient's arithmetic: each weight sums one product per image and pixel of the plain operand (dY of a
    /// Conv2d, x of a ConvTranspose2d).</summary>
    public static double Flops(Value plain, Value dw) => 2.0 * dw.Shape.Elements * (plain.Shape.Elements / plain.Shape[1]);

    /// <summary>
    /// One candidate on the layer's values: straight into dw, or into a [splits, dw] scratch of partial sums that its
    /// finish (shaders/reduce/partials.comp) adds into dw in split order.
    /// </summary>
    /// <remarks>A ".concat" candidate binds the second part of the concatenation, <paramref name="second"/>, after dw; one
    /// that writes the bias gradient too (<see cref="SummingBias"/>) binds
    /// <paramref name="db"/> after those, or its own [splits, C1] partials, summed after dw's.</remarks>
    public static void Dispatch(Emitter e, TuneCandidate c, Value plain, Value shifted, Value dw, string label, Value? second = null, Value? db = null)
    {
        if (c.Finish == null)
        {
            e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, dw, second, db));
            return;
        }
        var partial = PartialSums.Scratch(e, c.Finish.Splits, c.Finish.Count, label);
        var biasPartial = db == null ? null : PartialSums.Scratch(e, c.Finish.Splits, db.Shape.Elements, $"{label}.bias");
        e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, partial, second, biasPartial));
        PartialSums.Sum(e, partial, dw, $"{label}.sum");
        if (db != null) PartialSums.Sum(e, biasPartial!, db, $"{label}.bias.sum");
    }

    static Arg[] Args(Value plain, Value shifted, Value dw, Value? second = null, Value? db = null)
    {
        var args = new List<Arg> { Arg.In(plain), Arg.In(shifted), Arg.Out(dw) };
        if (second != null) args.Add(Arg.In(second));
        if (db != null) args.Add(Arg.Out(db));
        return args.ToArray();
    }
}
