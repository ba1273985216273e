using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>How the sums of a full reduction become its value (FINISH in shaders/reduce/finish.glsl).</summary>
internal enum ReductionFinish
{
    /// <summary>sum / divisor (a mean; divisor 1 for a plain sum).</summary>
    Mean = 0,
    /// <summary>sum / max(second sum * divisor, 1) (the masked losses).</summary>
    Ratio = 1,
    /// <summary>max(sum * divisor, 1) (the masked losses' denominator).</summary>
    Clamp = 2,
}

/// <summary>
/// A reduction's split: <see cref="Groups"/> workgroups, workgroup g taking units [g * Chunk, (g + 1) * Chunk).
/// </summary>
internal readonly record struct ReductionPlan(int Groups, long Chunk, int Unit)
{
    /// <summary>The chunk with which the same groups cover <paramref name="count"/> other units (the masked losses' mask).</summary>
    public long ChunkFor(long count) => LossReduction.Ceil(LossReduction.Ceil(Math.Max(count, 1), Unit), Groups) * Unit;
}

/// <summary>
/// Two-level deterministic reductions of a whole tensor to one value (the loss forwards, shaders/loss/*.fwd.comp, and
/// the masked losses' denominator): the first level (shaders/reduce/split.glsl) runs <see cref="ReductionPlan.Groups"/>
/// workgroups of 256, each adding its contiguous chunk (vec4 loads, a fixed shared-memory tree) into one partial; the
/// second (shaders/reduce/finish.comp) is one workgroup adding the partials in a fixed order. No atomics: the same
/// input gives the same bits every run. How many groups is the registered <see cref="IReductionSplit"/>'s choice for
/// the device; with one group the first level writes the finished value and the second is skipped.
/// </summary>
internal static class LossReduction
{
    /// <summary>Invocations per workgroup (REDUCE_SIZE in shaders/reduce/finish.glsl).</summary>
    public const uint Local = 256;
    /// <summary>Elements one workgroup-iteration of a vec4 stream covers (shaders/reduce/stream.glsl).</summary>
    public const int VectorUnit = 4 * (int)Local;
    /// <summary>Rows one workgroup-iteration covers when each invocation takes a row (softmax cross-entropy; divided by the
    /// lanes per row where several share one, <see cref="IReductionSplit.RowLanes"/>).</summary>
    public const int RowUnit = (int)Local;

    internal static long Ceil(long a, long b) => (a + b - 1) / b;

    /// <summary>The registered <see cref="IReductionSplit"/> for the emitter's device (or the one it prefers).</summary>
    public static IReductionSplit Split(Emitter e) =>
        KernelRegistry.Choose<IReductionSplit>("reduce.sum", ElementType.F32, TensorLayout.RowMajor, e);

    /// <summary>The split of <paramref name="count"/> units, <paramref name="unit"/> per workgroup-iteration, for the emitter's device.</summary>
    public static ReductionPlan Plan(Emitter e, long count, int unit)
    {
        var split = Split(e);
        long iterations = Ceil(Math.Max(count, 1), unit);
        int groups = (int)Math.Clamp(split.Groups(iterations), 1, iterations);
        long per = Ceil(iterations, groups);
        return new ReductionPlan((int)Ceil(iterations, per), per * unit, unit);
    }

    /// <summary>A chunk length for the shaders' uint push constant (one group's chunk may pass int.MaxValue).</summary>
    public static int Word(long chunk) => unchecked((int)(uint)Math.Min(chunk, uint.MaxValue));

    /// <summary>
    /// Runs the first level <paramref name="module"/> over <paramref name="inputs"/> (its bindings, in order, before the
    /// result's) and, when split, shaders/reduce/finish.comp, leaving the finished value in <paramref name="result"/>.
    /// <paramref name="constants"/> are the module's own specialization constants (ids 2, 3, ...). The reduction writes
    /// f32; a result stored otherwise (a loss that is an intermediate value of an f16-storage network, not its loss)
    /// gets the f32 value converted.
    /// </summary>
    public static void Emit(Emitter e, string module, ReductionPlan plan, int width, ReductionFinish finish, float divisor,
        uint[] constants, byte[] push, Value result, string label, params Arg[] inputs)
    {
        var value = result.ElementType == ElementType.F32 ? result : e.NewValue(result.Shape, ValueKind.Transient, $"{label}.f32");
        var spec = new KernelSpec(module, KernelSpec.Buffers(inputs.Length + 1), (uint)push.Length,
            new[] { (uint)finish, KernelSpec.Word(divisor) }.Concat(constants).ToArray(), Local);
        if (plan.Groups == 1)
            e.Dispatch(spec, (1, 1, 1), push, label, inputs.Append(Arg.Out(value)).ToArray());
        else
        {
            var partial = e.NewValue(new Shape(plan.Groups, width), ValueKind.Transient, $"{label}.partial");
            e.Dispatch(spec, ((uint)plan.Groups, 1, 1), push, label, inputs.Append(Arg.Out(partial)).ToArray());
            var sum = new KernelSpec("reduce/finish", KernelSpec.Buffers(2), 4, new[] { (uint)finish, KernelSpec.Word(divisor), (uint)width }, Local);
            e.Dispatch(sum, (1, 1, 1), PushConstants.Ints(plan.Groups), $"{label}.finish", Arg.In(partial), Arg.Out(value));
        }
        if (value != result) e.Convert(value, result, $"{label}.store");
    }

    /// <summary>
    /// A loss's gradient input (dloss, one element) as the f32 value its backward kernels bind: the network's backward
    /// seed is f32; a loss that is an intermediate value of an f16-storage network gets an f16 gradient, converted here.
    /// </summary>
    public static Value Seed(Emitter e, Value gradOutput, string label)
    {
        if (gradOutput.ElementType == ElementType.F32) return gradOutput;
        var seed = e.NewValue(gradOutput.Shape, ValueKind.Transient, $"{label}.seed_f32");
        e.Convert(gradOutput, seed, $"{label}.seed");
        return seed;
    }
}
