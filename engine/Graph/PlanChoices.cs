using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// The choices between two plans that a tuned compile makes by timing both (<see cref="PlanTiming.Faster"/>), since
/// neither wins everywhere, each remembered with the tuning choices:
/// <list type="bullet">
/// <item>a chain of small Linear layers as one fused MLP (shaders/mlp) or layer by layer through Linear's tuned products
/// (<see cref="CompileOptions.FuseMlp"/> null): on an H200 the fused kernels took 4.45 ms of mlp_64x4_b262144's 4.57 ms
/// fp16 step at under 5 TFLOP/s, while the playground MLP's fused step ran in 0.07 ms;</item>
/// <item>an inference plan's convolution pairs in row bands or whole (<see cref="CompileOptions.RowBands"/> null): the
/// bands need less memory, and on an H200 the 1920x1088 fp16 denoiser ran 12.86 ms banded and 11.81 ms whole.</item>
/// </list>
/// </summary>
internal static class PlanChoices
{
    /// <summary>
    /// <see cref="CompileOptions.FuseMlp"/> for <paramref name="options"/> (whose FuseMlp is null): null (the device's rule,
    /// which fuses on a GPU) where the plan has no fused MLP, where that plan's step replays faster, where PreferKernels
    /// names a fused-MLP entry, or once the tuner's budget is spent; false where the plan without fused MLPs replays
    /// faster. With it, the plan for that choice (in the options' layout, NCHW where that is null) where one was made and
    /// never run, else null.
    /// </summary>
    public static (bool? FuseMlp, GraphPlan? Plan) FuseMlp(Network net, GpuContext context, CompileOptions options, KernelTuner tuner)
    {
        // A fused-MLP kernel entry named in PreferKernels asks for the fused MLP, as the compiler takes it.
        if (KernelRegistry.All.OfType<Layers.IMlpKernels>().Any(k => options.PreferKernels.Contains(k.GetType().Name))) return (null, null);
        var fused = Compiler.Plan(net, context.KernelDevice, options, tuner);
        if (!fused.Emitter.Steps.Any(s => s.Spec.Module.StartsWith("mlp/", StringComparison.Ordinal))) return (null, fused);
        var (separate, plan) = PlanTiming.Faster(net, context, tuner, "mlp_fusion", options, fused, "Fused", options with { FuseMlp = false }, "Unfused");
        return separate ? (false, null) : (null, plan);
    }

    /// <summary>
    /// <see cref="CompileOptions.RowBands"/> for an inference plan's <paramref name="options"/> (whose RowBands is null),
    /// as <see cref="FuseMlp"/> decides the fusion: null (the automatic bands) where the plan has no bands, where the
    /// banded step replays faster or the whole one does not fit, or once the tuner's budget is spent; 0 where the plan
    /// without bands replays faster. <paramref name="planned"/>: the plan for <paramref name="options"/> where the caller
    /// has made it (and never run it).
    /// </summary>
    public static (int? RowBands, GraphPlan? Plan) RowBands(Network net, GpuContext context, CompileOptions options, KernelTuner tuner, GraphPlan? planned)
    {
        var banded = planned ?? Compiler.Plan(net, context.KernelDevice, options, tuner);
        if (!banded.Emitter.Steps.Any(s => s.Label.Contains(".band", StringComparison.Ordinal))) return (null, banded);
        var (whole, plan) = PlanTiming.Faster(net, context, tuner, "row_bands", options, banded, "Banded", options with { RowBands = 0 }, "Whole");
        return whole ? (0, null) : (null, plan);
    }
}
