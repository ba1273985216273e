using System.Diagnostics;
using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// The whole-plan choices a tuned compile makes by timing rather than by rule (<see cref="ActivationLayouts.Choose"/>:
/// the activations' layout; <see cref="PlanChoices"/>: a fused MLP or its Linear layers one by one, row bands or
/// none): each candidate plan is compiled on this device with its own buffers and its step replayed, and the faster
/// one is remembered by the tuner under a key made from the first plan's dispatches.
/// </summary>
internal static class PlanTiming
{
    /// <summary>Replays of a step, after the warm-up, of which the fastest counts.</summary>
    const int Replays = 3;
    /// <summary>Untimed replays first for at least this long: a GPU raises its clocks under load, over a few hundred
    /// milliseconds on the H200 (KernelTuner's shape warm-up).</summary>
    static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The fastest of <see cref="Replays"/> replays of <paramref name="plan"/>'s step, compiled with <paramref name="options"/>
    /// (its inputs and parameters as allocated: the time does not depend on the values; a training step updates only
    /// this compile's parameters, which are dropped after). Infinity where it does not fit the device's memory (Kiln's
    /// limit or the driver's), the exception kept in <paramref name="outOfMemory"/>.
    /// </summary>
    public static double Milliseconds(GpuContext context, CompileOptions options, GraphPlan plan, string what, ref GpuOutOfMemoryException? outOfMemory)
    {
        try
        {
            using var compiled = new CompiledNetwork(context, options, plan);
            using var list = context.CreateCommandList($"plan timing ({what})");
            compiled.Record(list);
            return list.FastestReplayMilliseconds(Replays, Warmup);
        }
        catch (GpuOutOfMemoryException e)
        {
            outOfMemory = e;
            return double.PositiveInfinity;
        }
    }

    /// <summary>
    /// Whether the plan of <paramref name="alternative"/> options replays faster than <paramref name="plan"/> (made with
    /// <paramref name="options"/>): remembered by the tuner under "<paramref name="kind"/>|" and <paramref name="plan"/>'s
    /// fingerprint, else timed (the alternative planned here) and recorded (<see cref="Fastest"/>); false, unremembered,
    /// once the tuner's budget is spent. With the answer, <paramref name="plan"/> where it was never run (the choice was
    /// recalled as false, or not made), else null. <paramref name="alternativePlan"/>: the alternative's plan where the
    /// caller has made it.
    /// </summary>
    public static (bool Alternative, GraphPlan? Plan) Faster(Network net, GpuContext context, KernelTuner tuner, string kind,
        CompileOptions options, GraphPlan plan, string name, CompileOptions alternative, string alternativeName, GraphPlan? alternativePlan = null)
    {
        string key = $"{kind}|{Fingerprint(plan)}";
        if (tuner.Recall(key) is { } remembered) return remembered == alternativeName ? (true, null) : (false, plan);
        if (tuner.BudgetSpent) return (false, plan);
        var other = alternativePlan ?? Compiler.Plan(net, context.KernelDevice, alternative, tuner);
        bool faster = Fastest(context, tuner, key, new[] { (name, options, plan), (alternativeName, alternative, other) }) == alternativeName;
        return (faster, null);
    }

    /// <summary>
    /// The name of the candidate plan whose step replays fastest, each compiled with its options; recorded by the tuner
    /// under <paramref name="key"/>. A plan that does not fit the device's memory loses; where none fits, the
    /// out-of-memory error is thrown as the compile would have. The time spent counts against the tuner's budget (the
    /// kernels' tuning in the plans counts already).
    /// </summary>
    public static string Fastest(GpuContext context, KernelTuner tuner, string key, IReadOnlyList<(string Name, CompileOptions Options, GraphPlan Plan)> candidates)
    {
        GpuOutOfMemoryException? outOfMemory = null;
        var clock = Stopwatch.StartNew();
        var times = candidates.Select(c => Milliseconds(context, c.Options, c.Plan, c.Name, ref outOfMemory)).ToList();
        tuner.Charge(clock.Elapsed.TotalSeconds);
        if (times.All(double.IsPositiveInfinity)) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outOfMemory!);
        int best = times.IndexOf(times.Min());
        string chosen = candidates[best].Name;
        tuner.Trace($"tuning {key}: step ms {string.Join(", ", candidates.Select((c, i) => $"{c.Name} {times[i]:0.####}"))}; chose {chosen}");
        tuner.Record(key, chosen);
        return chosen;
    }

    /// <summary>A plan's dispatches (kernels, constants, workgroups, push constants) as a short hash: the key of its timing.</summary>
    public static string Fingerprint(GraphPlan plan)
    {
        var text = string.Join(";", plan.Emitter.Steps.Select(s => $"{s.Spec.Key}@{s.GroupsX}x{s.GroupsY}x{s.GroupsZ}:{Convert.ToHexString(s.Push)}"));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
    }
}
