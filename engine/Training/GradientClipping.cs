using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln.Training;

/// <summary>
/// Clipping by global norm, as torch.nn.utils.clip_grad_norm_: the factor min(1, max / (norm + 1e-6)) over every
/// parameter gradient, written to the step state's gradient scale for the optimizer kernels. Deterministic: a large
/// gradient's sum of squares is a two-level reduction in a fixed order (<see cref="LossReduction"/>, many workgroups
/// on a GPU), small ones are summed eight to a workgroup, and the sums are added eight at a time in a fixed order (no
/// float atomics; <see cref="SumOfSquares"/>), so a replayed step gives the same bits. Dynamic loss scaling checks gradients through the same sum.
/// </summary>
internal static class GradientClipping
{
    public static void Emit(Emitter emitter, IReadOnlyList<Value> gradients, float maxNorm) =>
        EmitScaleUpdate(emitter, gradients, new ScaleUpdate("clip_scale", new[] { KernelSpec.Word(maxNorm) }), "grad_norm.clip_scale");

    /// <summary>
    /// The step state's update from the gradients' sum of squares (shaders/include/scale_update.glsl): optim/loss_scale
    /// or optim/clip_scale (<paramref name="Variant"/>; constants MAX_NORM, then for the loss scale GROWTH_INTERVAL), or
    /// the same update run by the tree's last reduce/sum_squares_many dispatch in its ".<paramref name="Variant"/>"
    /// variant (those constants after its own), so no dispatch of its own, and no level, follows the sum.
    /// </summary>
    internal sealed record ScaleUpdate(string Variant, uint[] Constants);

    /// <summary>
    /// The sum of squares of <paramref name="gradients"/> (<see cref="SumOfSquares"/>) and <paramref name="update"/> from
    /// it: in the sum's last dispatch where that is a reduce/sum_squares_many, else in a dispatch of its own labelled
    /// <paramref name="label"/>.
    /// </summary>
    internal static void EmitScaleUpdate(Emitter emitter, IReadOnlyList<Value> gradients, ScaleUpdate update, string label)
    {
        var (total, updated) = SumOfSquares(emitter, gradients, update);
        if (updated) return;
        var spec = new KernelSpec($"optim/{update.Variant}", KernelSpec.Buffers(2), 0, update.Constants, 1);
        emitter.Dispatch(spec, (1, 1, 1), Array.Empty<byte>(), label, StateWrite, Arg.In(total));
    }

    /// <summary>The step-state buffer, written (the scale update's binding).</summary>
    static Arg StateWrite => new(null, Access.ReadWrite);

    /// <summary>Gradients of at most this many elements are summed together, 8 to a dispatch (reduce/sum_squares_many).</summary>
    internal const int SmallGradient = 16384;

    /// <summary>The items the last dispatch adds besides the sum of the others: the gradients the backward pass writes last.</summary>
    const int Tail = 7;

    /// <summary>
    /// The sum of squares of every element of every gradient (one f32 value), added in a fixed order. The gradients come
    /// in the order the backward pass writes them (the last layer's first). Each is an item: a small one (biases, small
    /// layers) as it is, a larger one as its sum of squares by a split reduction. Up to 8 items take one single-workgroup
    /// dispatch (reduce/sum_squares_many, which squares the small gradients' elements and adds the sums as they are).
    /// More: the last <see cref="Tail"/> items go to the last dispatch as they are, beside the sum of the earlier ones,
    /// added 8 to a dispatch level by level while the backward pass still runs, so one level, not a tree's, follows the
    /// last gradient (the fashion autoencoder's 12 gradients: 2 dispatches, where 3 on 3 levels). With
    /// <paramref name="update"/>, the last dispatch updates the step state from the total too (then Updated is true),
    /// where it is one (not a lone split sum passed on).
    /// </summary>
    public static (Value Total, bool Updated) SumOfSquares(Emitter emitter, IReadOnlyList<Value> gradients, ScaleUpdate? update = null)
    {
        var items = gradients.Select(g => g.Shape.Elements <= SmallGradient ? (Value: g, Square: true) : (Value: LargeSum(emitter, g), Square: false)).ToList();
        if (items.Count > 8)
        {
            var head = items.Take(items.Count - Tail).ToList();
            for (int round = 0; head.Count > 1; round++)
                head = Enumerable.Range(0, (head.Count + 7) / 8)
                    .Select(i => (Many(emitter, head.Skip(8 * i).Take(8).ToList(), $"grad_norm.part{round}_{i}").Total, Square: false))
                    .ToList();
            items = head.Concat(items.Skip(items.Count - Tail)).ToList();
        }
        return Many(emitter, items, "grad_norm.total", update);
    }

    /// <summary>The sum of squares of a large gradient, a split reduction of its own (<see cref="LossReduction"/>).</summary>
    static Value LargeSum(Emitter emitter, Value g)
    {
        var s = emitter.NewValue(new Shape(1), ValueKind.Transient, $"{g.Name}.sum_squares");
        long count = g.Shape.Elements;
        var plan = LossReduction.Plan(emitter, count, LossReduction.VectorUnit);
        LossReduction.Emit(emitter, "reduce/sum_squares", plan, 1, ReductionFinish.Mean, 1f, Array.Empty<uint>(),
            PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk)), s, $"{g.Name}.sum_squares", Arg.In(g));
        return s;
    }

    /// <summary>The sum of up to 8 items' elements, each squared where its Square says (a gradient) and added as it is
    /// where not (a sum of squares), in one workgroup (reduce/sum_squares_many), and with <paramref name="update"/> the step
    /// state's update from it (Updated true); a lone sum is passed on as it is.</summary>
    static (Value Total, bool Updated) Many(Emitter emitter, IReadOnlyList<(Value Value, bool Square)> group, string label, ScaleUpdate? update = null)
    {
        if (group is [{ Square: false } lone]) return (lone.Value, false);
        var s = emitter.NewValue(new Shape(1), ValueKind.Transient, label);
        var counts = Enumerable.Range(0, 8).Select(i => i < group.Count ? (int)group[i].Value.Shape.Elements : 0).ToArray();
        uint squares = (uint)Enumerable.Range(0, group.Count).Where(i => group[i].Square).Sum(i => 1 << i);
        var constants = new[] { (uint)group.Count, squares }.Concat(update?.Constants ?? Array.Empty<uint>()).ToArray();
        string module = "reduce/sum_squares_many" + (update != null ? "." + update.Variant : "");
        var spec = new KernelSpec(module, KernelSpec.Buffers(update != null ? 10 : 9), 32, constants, 256);
        var args = Enumerable.Range(0, 8).Select(i => Arg.In(group[Math.Min(i, group.Count - 1)].Value)).Append(Arg.Out(s));
        if (update != null) args = args.Append(StateWrite);
        emitter.Dispatch(spec, (1, 1, 1), PushConstants.Ints(counts), update != null ? $"{label}.{update.Variant}" : label, args.ToArray());
        return (s, update != null);
    }
}
