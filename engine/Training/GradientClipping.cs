using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln.Training;

/// <summary>
/// Clipping by global norm, as torch.nn.utils.clip_grad_norm_: the factor min(1, max / (norm + 1e-6)) over every
/// parameter gradient, written to the step state's gradient scale for the optimizer kernels. Deterministic: a large
/// gradient's sum of squares is a two-level reduction in a fixed order (<see cref="LossReduction"/>, many workgroups
/// on a GPU), small ones are summed eight to a workgroup, and the sums are added eight at a time in a fixed tree (no
/// float atomics), so a replayed step gives the same bits. Dynamic loss scaling checks gradients through the same sum.
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

    /// <summary>
    /// The sum of squares of every element of every gradient (one f32 value), added in a fixed order: small gradients
    /// (biases, small layers) 8 to one single-workgroup dispatch, larger ones each by a split reduction, then the sums 8
    /// to a dispatch, level by level (17 sums: 3 dispatches on 2 levels). A small network (the Playground MLP) takes one
    /// dispatch where it took one per gradient and a tree. With <paramref name="update"/>, the last dispatch, where it is
    /// one of those 8-to-a-dispatch sums, updates the step state from the total too (then Updated is true).
    /// </summary>
    public static (Value Total, bool Updated) SumOfSquares(Emitter emitter, IReadOnlyList<Value> gradients, ScaleUpdate? update = null)
    {
        var sums = new List<Value>();
        var small = gradients.Where(g => g.Shape.Elements <= SmallGradient).ToList();
        int big = gradients.Count - small.Count, groups = (small.Count + 7) / 8;
        bool updated = false;
        for (int first = 0; first < small.Count; first += 8)
        {
            // The only sum there is: its dispatch is the last.
            var last = groups + big == 1 ? update : null;
            sums.Add(Many(emitter, small.Skip(first).Take(8).ToList(), square: true, $"grad_norm.small{first / 8}", last));
            updated |= last != null;
        }
        foreach (var g in gradients.Where(g => g.Shape.Elements > SmallGradient))
        {
            var s = emitter.NewValue(new Shape(1), ValueKind.Transient, $"{g.Name}.sum_squares");
            long count = g.Shape.Elements;
            var plan = LossReduction.Plan(emitter, count, LossReduction.VectorUnit);
            LossReduction.Emit(emitter, "reduce/sum_squares", plan, 1, ReductionFinish.Mean, 1f, Array.Empty<uint>(),
                PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk)), s, $"{g.Name}.sum_squares", Arg.In(g));
            sums.Add(s);
        }
        for (int round = 0; sums.Count > 1; round++)
        {
            var last = sums.Count <= 8 ? update : null; // this round's one dispatch is the last
            sums = Enumerable.Range(0, (sums.Count + 7) / 8)
                .Select(i => Many(emitter, sums.Skip(8 * i).Take(8).ToList(), square: false, $"grad_norm.sum{round}_{i}", last))
                .ToList();
            updated |= last != null;
        }
        return (sums[0], updated);
    }

    /// <summary>The sum of squares (or with <paramref name="square"/> false the sum) of up to 8 values' elements, in one
    /// workgroup (reduce/sum_squares_many), and with <paramref name="update"/> the step state's update from it; a single
    /// value is passed on as it is when summing (never the last, whose round has at least two).</summary>
    static Value Many(Emitter emitter, IReadOnlyList<Value> group, bool square, string label, ScaleUpdate? update = null)
    {
        if (!square && group.Count == 1) return group[0];
        var s = emitter.NewValue(new Shape(1), ValueKind.Transient, label);
        var counts = Enumerable.Range(0, 8).Select(i => i < group.Count ? (int)group[i].Shape.Elements : 0).ToArray();
        var constants = new[] { (uint)group.Count, square ? 1u : 0u }.Concat(update?.Constants ?? Array.Empty<uint>()).ToArray();
        string module = "reduce/sum_squares_many" + (update != null ? "." + update.Variant : "");
        var spec = new KernelSpec(module, KernelSpec.Buffers(update != null ? 10 : 9), 32, constants, 256);
        var args = Enumerable.Range(0, 8).Select(i => Arg.In(group[Math.Min(i, group.Count - 1)])).Append(Arg.Out(s));
        if (update != null) args = args.Append(StateWrite);
        emitter.Dispatch(spec, (1, 1, 1), PushConstants.Ints(counts), update != null ? $"{label}.{update.Variant}" : label, args.ToArray());
        return s;
    }
}
