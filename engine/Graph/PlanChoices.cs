using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// The choices between plans that a tuned compile makes by timing them (<see cref="PlanTiming.Faster"/>), since
/// neither wins everywhere, each remembered with the tuning choices:
/// <list type="bullet">
/// <item>a chain of small Linear layers as one fused MLP (shaders/mlp), on each fused-MLP kernel entry the device runs, or
/// layer by layer through Linear's tuned products (<see cref="CompileOptions.FuseMlp"/> null): on an H200 the fused
/// kernels of the time took 4.45 ms of mlp_64x4_b262144's 4.57 ms fp16 step at under 5 TFLOP/s, while the playground
/// MLP's fused step ran in 0.07 ms;</item>
/// <item>an inference plan's convolution pairs in row bands or whole (<see cref="CompileOptions.RowBands"/> null): the
/// bands need less memory, and on an H200 the 1920x1088 fp16 denoiser ran 12.86 ms banded and 11.81 ms whole.</item>
/// </list>
/// </summary>
internal static class PlanChoices
{
    /// <summary>The remembered choices of <see cref="FuseMlp"/> besides an entry's name.</summary>
    const string Fused = "Fused", Unfused = "Unfused";

    /// <summary>
    /// <see cref="CompileOptions.FuseMlp"/> for <paramref name="options"/> (whose FuseMlp is null), and the fused-MLP
    /// kernel entry to name in PreferKernels: the plan with fused MLPs as the registry picks their kernels, the plan with
    /// each other fused-MLP entry the device runs at this precision named (where that changes the plan), and the plan
    /// without fused MLPs are timed, and the fastest is remembered (under "mlp_fusion|" and the first plan's fingerprint:
    /// "Fused", an entry's name, or "Unfused"). (null, null) where the plan has no fused MLP, where the registry's choice
    /// replays fastest, where PreferKernels names a fused-MLP entry, or once the tuner's budget is spent; (false, null)
    /// where the plan without fused MLPs replays fastest; (null, entry) where that entry's plan does. With them, the
    /// plan for that choice (in the options' layout, NCHW where that is null) where one was made and never run, else null.
    /// </summary>
    public static (bool? FuseMlp, string? Entry, GraphPlan? Plan) FuseMlp(Network net, GpuContext context, CompileOptions options, KernelTuner tuner)
    {
        var mlpEntries = KernelRegistry.All.OfType<Layers.IMlpKernels>().ToList();
        // A fused-MLP kernel entry named in PreferKernels asks for the fused MLP, as the compiler takes it.
        if (mlpEntries.Any(k => KernelRegistry.Names(options.PreferKernels, k))) return (null, null, null);
        var device = context.KernelDevice;
        var fused = Compiler.Plan(net, device, options, tuner);
        if (!fused.Emitter.Steps.Any(s => s.Spec.Module.StartsWith("mlp/", StringComparison.Ordinal))) return (null, null, fused);
        string key = $"mlp_fusion|{PlanTiming.Fingerprint(fused)}";
        if (tuner.Recall(key) is { } remembered)
            return remembered switch
            {
                Fused => (null, null, fused),
                Unfused => (false, null, null),
                _ when mlpEntries.Any(k => k.GetType().Name == remembered) => (null, remembered, null),
                _ => (null, null, fused),
            };
        if (tuner.BudgetSpent) return (null, null, fused);

        var candidates = new List<(string Name, CompileOptions Options, GraphPlan Plan)> { (Fused, options, fused) };
        var fingerprints = new HashSet<string> { PlanTiming.Fingerprint(fused) };
        foreach (var entry in mlpEntries.Where(k => k.Supports(device) && k.Arithmetic <= options.Precision && k.PreferredOn(device)))
        {
            string name = entry.GetType().Name;
            var named = options with { PreferKernels = options.PreferKernels.Append(name).ToArray() };
            var plan = Compiler.Plan(net, device, named, tuner);
            if (fingerprints.Add(PlanTiming.Fingerprint(plan))) candidates.Add((name, named, plan));
        }
        var separate = options with { FuseMlp = false };
        candidates.Add((Unfused, separate, Compiler.Plan(net, device, separate, tuner)));
        string chosen = PlanTiming.Fastest(context, tuner, key, candidates);
        return chosen switch { Fused => (null, null, null), Unfused => (false, null, null), _ => (null, chosen, null) };
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
