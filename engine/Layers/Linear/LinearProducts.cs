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

    public static void Emit(Emitter e, GemmCall g, string label)
    {
        var type = g.A.ElementType;
        var entries = e.Tuner == null || (long)g.M * g.N * g.K < MinTunedWork
            ? new List<ILinearForward>()
            : KernelRegistry.Candidates<ILinearForward>("linear.fwd", type, TensorLayout.RowMajor, e);
        if (entries.Count > 0)
        {
            Dispatch(e, EntryTuning.Choose(e, "linear.gemm", entries, k => k.Candidates(e, g), g.Args, g.ToString(), label), g, label);
            return;
        }
        var entry = KernelRegistry.Choose<ILinearForward>("linear.fwd", type, TensorLayout.RowMajor, e);
        Dispatch(e, entry.Default(e, g) ?? LinearGemm.Default(e, g), g, label);
    }

    /// <summary>
    /// One candidate on the product's values: straight into C, or into a [splits, M N] scratch of f32 partial sums that
    /// reduce/partials adds in order with the bias and activation, writing C in its element type.
    /// </summary>
    public static void Dispatch(Emitter e, TuneCandidate c, GemmCall g, string label)
    {
        int since = e.StepCount;
        if (c.Finish == null) e.Dispatch(c.Spec, c.Groups, c.Push, label, g.Args);
        else
        {
            var partial = PartialSums.Scratch(e, c.Finish.Splits, c.Finish.Count, label);
            e.Dispatch(c.Spec, c.Groups, c.Push, label, Arg.In(g.A), Arg.In(g.B), Arg.In(g.B), Arg.Out(partial));
            PartialSums.Sum(e, partial, g.C, $"{label}.sum", g.Bias, g.Act, g.Slope);
        }
        e.AttributeFlops(since, label, 2.0 * g.M * g.N * g.K);
    }
}
