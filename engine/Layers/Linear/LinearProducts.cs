using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Linear's products, the forward y = act(x W^T + b) and the backward's dX = dY W and dW = dY^T X, through the entries of
/// operation "linear.fwd" (<see cref="ILinearForward"/>: the register-blocked <see cref="LinearGemm"/>, the tensor-core
/// <see cref="LinearCoopMat"/> under Fp16). Untuned, the default of the entry the registry picks (the plain kernel's
/// where that entry leaves the product to it). Under CompileOptions.Autotune every entry preferred on the device (or
/// named in CompileOptions.PreferKernels) offers its candidates (block or tile sizes, single-pass and split) and the
/// tuner keeps the fastest for the product's shape, operand types, bias and activation (<see cref="EntryTuning"/>),
/// a split timed with its ordered sum; products under <see cref="MinTunedWork"/> multiply-adds are not timed.
/// </summary>
internal static class LinearProducts
{
    /// <summary>Multiply-adds below which a product runs its default untimed: launch-bound, whatever its tiles, and
    /// each candidate timed costs the first compile a pipeline.</summary>
    internal const long MinTunedWork = 1L << 24;

    public static void Emit(Emitter e, GemmCall g, string label) => Dispatch(e, Choose(e, g, TunedEntries(e, g), label), g, label);

    /// <summary>The candidate for <paramref name="g"/>: the fastest of the <paramref name="tuned"/> entries' (timed under
    /// "linear.gemm"), or where none is tuned, the untuned default.</summary>
    static TuneCandidate Choose(Emitter e, GemmCall g, IReadOnlyList<ILinearForward> tuned, string label) => tuned.Count > 0
        ? EntryTuning.Choose(e, "linear.gemm", tuned, k => k.Candidates(e, g), g.Args, g.ToString(), label)
        : Default(e, g);

    /// <summary>The entries a tuner times for <paramref name="g"/>: none untuned or under <see cref="MinTunedWork"/>.</summary>
    static IReadOnlyList<ILinearForward> TunedEntries(Emitter e, GemmCall g) =>
        e.Tuner == null || (long)g.M * g.N * g.K < MinTunedWork
            ? Array.Empty<ILinearForward>()
            : KernelRegistry.Candidates<ILinearForward>("linear.fwd", g.A.ElementType, TensorLayout.RowMajor, e);

    /// <summary>The untuned candidate: the default of the entry the registry picks (the plain kernel's where that entry
    /// leaves the product to it).</summary>
    static TuneCandidate Default(Emitter e, GemmCall g) =>
        KernelRegistry.Choose<ILinearForward>("linear.fwd", g.A.ElementType, TensorLayout.RowMajor, e).Default(e, g) ?? LinearGemm.Default(e, g);

    /// <summary>
    /// The input gradient dX = dY W (<paramref name="g"/>, no bias, no activation) through the derivative of the
    /// activation <paramref name="a"/> of the layer before (<see cref="ActivationGradient"/>; shaders/include/product_epilogue.glsl).
    /// The candidate <see cref="Emit"/> would dispatch for the product with that activation (tuned or not): where it splits
    /// K, with the split's finish in reduce/partials.dact; else in its ".dact" form, untuned that candidate's (the kernel
    /// choice never changes for it), tuned the fastest of the entries' single-pass candidates in that form, each timed as
    /// it and checked against the reference entry's (operation "linear.gemm.dact", a second round after the plain one).
    /// False, with nothing emitted, where <paramref name="a"/> has an addend or there is no such form (the batched kernels).
    /// </summary>
    public static bool EmitActivationGradient(Emitter e, GemmCall g, ActivationGradient a, string label)
    {
        if (a.Addend != null || g.Bias != null) return false;
        var call = g with { Act = a.Activation, Slope = a.Slope };
        // The plain product's choice (tuned: timed and checked as the plain product with this activation). Where it splits
        // K, that split with the derivative in its ordered sum (reduce/partials.dact, the same code on every device): a
        // split candidate can't be timed with that finish. Else the product in its .dact form, tuned as such among the
        // single-pass candidates (a second round), so the kernel that runs has run in that form on the device.
        var tuned = TunedEntries(e, call);
        var plain = Choose(e, call, tuned, label);
        if (plain.Finish != null)
        {
            Dispatch(e, plain, call, label, a.Output);
            return true;
        }
        var args = call.Args.Append(Arg.In(a.Output)).ToArray();
        IEnumerable<TuneCandidate> Of(ILinearForward k) => k.Candidates(e, call).Where(c => c.Finish == null).Select(a.Variant).OfType<TuneCandidate>();
        var entries = tuned.Where(k => Of(k).Any()).ToList();
        var chosen = entries.Count > 0 ? EntryTuning.Choose(e, "linear.gemm.dact", entries, Of, args, call.ToString(), label) : a.Variant(plain);
        if (chosen == null) return false;
        int since = e.StepCount;
        e.Dispatch(chosen.Spec, chosen.Groups, chosen.Push, label, args);
        e.AttributeFlops(since, label, 2.0 * g.M * g.N * g.K);
        return true;
    }

    /// <summary>
    /// One candidate on the product's values: straight into C, or into a [splits, M N] scratch of f32 partial sums that
    /// reduce/partials adds in order with the bias and activation, writing C in its element type; with
    /// <paramref name="activationOutput"/>, through the activation's derivative taken from it instead (a split input
    /// gradient's finish, <see cref="EmitActivationGradient"/>).
    /// </summary>
    public static void Dispatch(Emitter e, TuneCandidate c, GemmCall g, string label, Value? activationOutput = null)
    {
        int since = e.StepCount;
        if (c.Finish == null) e.Dispatch(c.Spec, c.Groups, c.Push, label, g.Args);
        else
        {
            var partial = PartialSums.Scratch(e, c.Finish.Splits, c.Finish.Count, label);
            e.Dispatch(c.Spec, c.Groups, c.Push, label, Arg.In(g.A), Arg.In(g.B), Arg.In(g.B), Arg.Out(partial));
            PartialSums.Sum(e, partial, g.C, $"{label}.sum", g.Bias, g.Act, g.Slope, activationOutput);
        }
        e.AttributeFlops(since, label, 2.0 * g.M * g.N * g.K);
    }
}
