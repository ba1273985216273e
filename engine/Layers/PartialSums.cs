using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Split reductions without atomics: a kernel writes <c>splits</c> partial results of a reduction into a transient
/// [splits, count] value, then shaders/reduce/partials.comp sums them in a fixed order (so results are deterministic).
/// Used where a reduction has too few outputs to keep every core busy (weight gradients of small-channel layers,
/// products of a long reduction into a small matrix). The second pass walks the splits with one invocation per output,
/// or, where the registered <see cref="IReductionSplit"/> says so (GPUs: many splits), with several lanes per output
/// added in a fixed tree.
/// </summary>
internal static class PartialSums
{
    const uint Local = 64;
    /// <summary>Outputs per workgroup when the splits are spread over lanes (local size 32 x lanes).</summary>
    const uint LanesLocal = 32;

    /// <summary>
    /// How many splits of <paramref name="length"/> reduction rows to make so that <paramref name="outputs"/> invocations
    /// per split reach about <paramref name="target"/> in all, with at least <paramref name="minRows"/> rows per split.
    /// Returns (splits, rows per split); splits == 1 means no split.
    /// </summary>
    public static (int Splits, int RowsPerSplit) Plan(long outputs, int length, long target, int minRows)
    {
        long wanted = Math.Max(1, (target + outputs - 1) / outputs);
        int rows = (int)Math.Max(minRows, (length + wanted - 1) / wanted);
        rows = Math.Min(rows, length);
        return ((length + rows - 1) / rows, rows);
    }

    /// <summary>A transient [splits, count] value for the partial results.</summary>
    public static Value Scratch(Emitter e, int splits, long count, string label) =>
        e.NewValue(new Shape(splits, (int)count), ValueKind.Transient, $"{label}.partial");

    /// <summary>
    /// y (count elements) = act(the sum over splits of partial [splits, count], in split order, + bias[i % bias length]),
    /// in f32; an f16 y (activation storage) takes the result rounded once (reduce/partials' f16 build). With
    /// <paramref name="activationOutput"/> (count elements laid out as y), the sum times act's derivative taken from it
    /// instead (reduce/partials.dact: an input gradient through the activation of the layer before).
    /// </summary>
    public static void Sum(Emitter e, Value partial, Value y, string label, Value? bias = null, Activation act = Activation.None, float slope = 0,
        Value? activationOutput = null)
    {
        int splits = partial.Shape[0], count = partial.Shape[1];
        if (y.Shape.Elements != count || activationOutput is { } o && o.Shape.Elements != count)
            throw new InvalidOperationException($"{label}: partial sums of {count} values cannot fill {y.Shape}.");
        var (spec, groups) = SumKernel(e, splits, count, bias == null ? 0 : (int)bias.Shape.Elements, act, slope);
        if (activationOutput == null)
        {
            e.Dispatch(spec, groups, Array.Empty<byte>(), label, Arg.In(partial), Arg.In(bias ?? partial), Arg.Out(y));
            return;
        }
        spec = spec with { Module = spec.Module + ".dact", Bindings = KernelSpec.Buffers(4) };
        e.Dispatch(spec, groups, Array.Empty<byte>(), label, Arg.In(partial), Arg.In(bias ?? partial), Arg.Out(y), Arg.In(activationOutput));
    }

    /// <summary>
    /// The reduce/partials dispatch that adds <paramref name="splits"/> partials of <paramref name="count"/> values (with a
    /// bias of <paramref name="biasLength"/> values, 0 for none, and an activation): bindings (partials, bias, y).
    /// </summary>
    static (KernelSpec Spec, (uint X, uint Y, uint Z) Groups) SumKernel(Emitter e, int splits, long count, int biasLength, Activation act, float slope)
    {
        int lanes = LossReduction.Split(e).PartialLanes(splits);
        uint local = lanes == 1 ? Local : LanesLocal;
        var spec = new KernelSpec("reduce/partials", KernelSpec.Buffers(3), 0,
            new[] { (uint)splits, (uint)count, biasLength > 0 ? 1u : 0u, (uint)Math.Max(1, biasLength), (uint)act, KernelSpec.Word(slope), (uint)lanes }, local, (uint)lanes);
        return (spec, FlatGroups.For(e, count, local));
    }

    /// <summary>The finish a tuner runs after a split candidate: the plain ordered sum of <paramref name="splits"/> partials of <paramref name="count"/> f32 values.</summary>
    public static TuneFinish Finish(Emitter e, int splits, long count)
    {
        var (spec, groups) = SumKernel(e, splits, count, 0, Activation.None, 0);
        return new TuneFinish(spec, groups, splits, count);
    }

    /// <summary>
    /// The finish of a split product whose sum takes a bias and an activation (<see cref="Sum"/>'s): <paramref name="bias"/>
    /// is bound from the candidate's binding <paramref name="biasBinding"/>.
    /// </summary>
    public static TuneFinish Finish(Emitter e, int splits, long count, Value? bias, int biasBinding, Activation act, float slope)
    {
        if (bias == null && act == Activation.None) return Finish(e, splits, count);
        var (spec, groups) = SumKernel(e, splits, count, bias == null ? 0 : (int)bias.Shape.Elements, act, slope);
        return new TuneFinish(spec, groups, splits, count) { Bias = bias == null ? null : biasBinding };
    }
}
