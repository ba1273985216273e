using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// Whether a tuned compile runs its chains of small Linear layers as one fused MLP (shaders/mlp) or layer by layer
/// through Linear's tuned products (<see cref="CompileOptions.FuseMlp"/> null): decided by timing, since neither wins
/// everywhere (on an H200 the fused kernels took 4.45 ms of mlp_64x4_b262144's 4.57 ms fp16 step at under 5 TFLOP/s,
/// while the playground MLP's fused step ran in 0.07 ms).
/// </summary>
internal static class MlpFusionChoice
{
    /// <summary>
    /// <see cref="CompileOptions.FuseMlp"/> for <paramref name="options"/> (whose FuseMlp is null): null (the device's rule,
    /// which fuses on a GPU) where the plan has no fused MLP, where that plan's step replays faster, where PreferKernels
    /// names a fused-MLP entry, or once the tuner's budget is spent; false where the plan without fused MLPs replays faster. With it, the plan for that choice (in the
    /// options' layout, NCHW where that is null) where one was made and never run, else null. The choice is remembered by
    /// the tuner under the fused plan's kernels and shapes; the time spent timing the steps counts against the tuner's budget.
    /// </summary>
    public static (bool? FuseMlp, GraphPlan? Plan) Choose(Network net, GpuContext context, CompileOptions options, KernelTuner tuner)
    {
        // A fused-MLP kernel entry named in PreferKernels asks for the fused MLP, as the compiler takes it.
        if (KernelRegistry.All.OfType<Layers.IMlpKernels>().Any(k => options.PreferKernels.Contains(k.GetType().Name))) return (null, null);
        var device = context.KernelDevice;
        var fused = Compiler.Plan(net, device, options, tuner);
        if (!fused.Emitter.Steps.Any(s => s.Spec.Module.StartsWith("mlp/", StringComparison.Ordinal))) return (null, fused);
        string key = $"mlp_fusion|{PlanTiming.Fingerprint(fused)}";
        if (tuner.Recall(key) is { } remembered) return remembered == Unfused ? (false, null) : (null, fused);
        if (tuner.BudgetSpent) return (null, fused);
        var separate = Compiler.Plan(net, device, options with { FuseMlp = false }, tuner);

        // A plan that does not fit the device's memory loses; where neither fits, the compile fails as it would have.
        GpuOutOfMemoryException? outOfMemory = null;
        var clock = System.Diagnostics.Stopwatch.StartNew(); // the kernels' tuning in the plans above counts already
        double fusedMs = PlanTiming.Milliseconds(context, options, fused, "fused MLP", ref outOfMemory);
        double separateMs = PlanTiming.Milliseconds(context, options with { FuseMlp = false }, separate, "MLP layer by layer", ref outOfMemory);
        tuner.Charge(clock.Elapsed.TotalSeconds);
        if (double.IsPositiveInfinity(fusedMs) && double.IsPositiveInfinity(separateMs))
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outOfMemory!);
        bool unfuse = separateMs < fusedMs;
        tuner.Trace($"tuning {key}: step ms fused {fusedMs:0.####}, layer by layer {separateMs:0.####}; chose {(unfuse ? Unfused : Fused)}");
        tuner.Record(key, unfuse ? Unfused : Fused);
        return (unfuse ? false : null, null);
    }

    const string Fused = "Fused", Unfused = "Unfused";
}
