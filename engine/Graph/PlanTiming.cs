using System.Diagnostics;
using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// The whole-plan choices a tuned compile makes by timing rather than by rule (<see cref="ActivationLayouts.Choose"/>:
/// the activations' layout; <see cref="MlpFusionChoice.Choose"/>: a fused MLP or its Linear layers one by one): each
/// candidate plan is compiled on this device with its own buffers and its step replayed, and the faster one is
/// remembered by the tuner under a key made from the first plan's dispatches.
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
            var warming = Stopwatch.StartNew();
            do list.Run(); while (warming.Elapsed < Warmup);
            return list.FastestReplayMilliseconds(Replays);
        }
        catch (GpuOutOfMemoryException e)
        {
            outOfMemory = e;
            return double.PositiveInfinity;
        }
    }

    /// <summary>A plan's dispatches (kernels, constants, workgroups, push constants) as a short hash: the key of its timing.</summary>
    public static string Fingerprint(GraphPlan plan)
    {
        var text = string.Join(";", plan.Emitter.Steps.Select(s => $"{s.Spec.Key}@{s.GroupsX}x{s.GroupsY}x{s.GroupsZ}:{Convert.ToHexString(s.Push)}"));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
    }
}
