using System.Diagnostics;

namespace Kiln.Cli.Bench;

/// <summary>
/// Compiles one workload on a profiling context, fills its inputs with random values in [0, 1), replays the
/// recorded step unmeasured <c>warmup</c> times and, at full size, for at least <see cref="MinWarmup"/> (a GPU
/// that raises its clocks under load runs a small step slowly for its first replays: on the H200, after 5 warm-up
/// replays, the playground step measured 0.25 ms in a run that had compiled it just before and 0.076 ms in one that
/// found its pipelines cached), then <c>iters</c> times measured: per replay the GPU span
/// (timestamps), the dispatches' own GPU times and the host's submit-to-fence time; the medians are reported.
/// The workload is compiled with the command line's <see cref="BenchCompile"/> options.
/// </summary>
internal static class BenchRunner
{
    /// <summary>The shortest warm-up at full size, however many replays it takes.</summary>
    public static readonly TimeSpan MinWarmup = TimeSpan.FromMilliseconds(500);

    public static BenchResult Run(GpuContext context, BenchWorkload workload, BenchSize size, int iters, int warmup, bool kernels, DeviceLimits limits,
        BenchCompile? compile = null)
    {
        var options = compile ?? new BenchCompile();
        var precision = options.Precision;
        var result = new BenchResult
        {
            Workload = workload.Id,
            What = workload.What,
            Config = precision == Precision.Fp16 ? "fp16" : "fp32",
            Size = size == BenchSize.Full ? "full" : "small",
            Iters = iters,
            Warmup = warmup,
            LimitTflops = limits.ComputeTflops(precision),
        };
        BenchSetup setup;
        try { setup = workload.Build(size); }
        catch (Exception e) when (e is KilnException or ArgumentException) { return result with { Error = e.Message }; }
        result = result with { Inputs = setup.Inputs.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), Flops = setup.Flops };

        var compileTimer = Stopwatch.StartNew();
        var (tuneSeconds, untuned) = (context.Tuner.Seconds, context.Tuner.Skipped);
        CompiledNetwork compiled;
        try { compiled = setup.Network.Compile(context, options.Apply(setup.Options)); }
        catch (Exception e) when (e is KilnException or ArgumentException) { return result with { Error = e.Message }; }
        using var _ = compiled;
        var rng = new Random(1234);
        foreach (var (name, tensor) in compiled.Inputs)
        {
            var data = new float[tensor.Shape.Elements];
            for (int i = 0; i < data.Length; i++) data[i] = rng.NextSingle();
            compiled.SetInput(name, data);
        }
        compileTimer.Stop();

        using var list = context.CreateCommandList(workload.Id);
        compiled.Record(list);
        var span = new List<double>();
        var sum = new List<double>();
        var host = new List<double>();
        var perLabel = new Dictionary<string, List<double>>();
        int dispatches = 0;
        int warmed = list.WarmUp(size == BenchSize.Full ? MinWarmup : TimeSpan.Zero, warmup);
        for (int i = 0; i < iters; i++)
        {
            var sw = Stopwatch.StartNew();
            list.Run();
            sw.Stop();
            host.Add(sw.Elapsed.TotalMilliseconds);
            var timings = list.Timings();
            dispatches = timings.Count;
            sum.Add(timings.Sum(t => t.Milliseconds));
            if (list.TimedSpanMilliseconds() is { } s) span.Add(s);
            if (kernels)
                foreach (var g in timings.GroupBy(t => t.Label))
                    (perLabel.TryGetValue(g.Key, out var l) ? l : perLabel[g.Key] = new List<double>()).Add(g.Sum(t => t.Milliseconds));
        }
        if (dispatches == 0) dispatches = compiled.Plan.Dispatches.Count;

        double? gpu = span.Count > 0 ? Median(span) : null;
        double? tflops = gpu is > 0 && !workload.Bandwidth ? setup.Flops / (gpu.Value * 1e-3) / 1e12 : null;
        long? bytes = workload.Bandwidth ? compiled.Plan.Dispatches.Sum(d => d.Bytes) : null;
        double? gbps = gpu is > 0 ? bytes / (gpu.Value * 1e-3) / 1e9 : null;
        List<KernelTime>? kernelTimes = null;
        if (kernels)
        {
            var planned = compiled.Plan.Dispatches.GroupBy(d => d.Label).ToDictionary(g => g.Key, g => g.ToList());
            double total = perLabel.Values.Sum(Median);
            kernelTimes = perLabel.Select(kv =>
                {
                    var dispatches = planned.GetValueOrDefault(kv.Key) ?? new List<PlannedDispatch>();
                    double ms = Median(kv.Value), flops = dispatches.Sum(d => d.Flops);
                    long bytes = dispatches.Sum(d => d.Bytes);
                    return new KernelTime(kv.Key, dispatches.FirstOrDefault()?.Kernel ?? "?", ms, kv.Value.Min(), total > 0 ? ms / total : 0)
                        { Flops = flops, Bytes = bytes }.Against(result.LimitTflops, limits.CopyTBps);
                })
                .OrderByDescending(k => k.Ms).ToList();
        }
        return result with
        {
            Warmup = warmed,
            CompileMs = compileTimer.Elapsed.TotalMilliseconds,
            TuneS = context.Tuner.Seconds - tuneSeconds,
            Untuned = context.Tuner.Skipped - untuned,
            GpuMs = gpu,
            GpuMinMs = span.Count > 0 ? span.Min() : null,
            GpuDispatchSumMs = sum.Count > 0 && span.Count > 0 ? Median(sum) : null,
            HostMs = Median(host),
            HostMinMs = host.Min(),
            Dispatches = dispatches,
            Tflops = tflops,
            Bytes = bytes,
            GBps = gbps,
            FractionOfLimit = workload.Bandwidth ? gbps / (limits.CopyTBps * 1000) : tflops / result.LimitTflops,
            PlannedBytes = compiled.Plan.PlannedBytes,
            Layout = compiled.ActivationLayout.ToString().ToLowerInvariant(),
            Kernels = kernelTimes,
        };
    }

    internal static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count == 0 ? double.NaN : s[s.Count / 2];
    }
}

/// <summary>
/// How `kiln bench` compiles every workload: the precision asked for (<see cref="CompileOptions.Precision"/>; at fp16
/// with f16 inputs and outputs, <see cref="CompileOptions.F16InputsAndOutputs"/>, as the peer's fp16 tensors are), the kernel
/// entries named by --prefer chosen wherever they can run (<see cref="CompileOptions.PreferKernels"/>), --autotune,
/// --row-bands in place of the automatic row bands (<see cref="CompileOptions.RowBands"/>: 0 none) and --layout for
/// every workload's activations (<see cref="CompileOptions.ActivationLayout"/>),
/// --subpixel off for the UNet decoders in their 3x3 form (<see cref="CompileOptions.SubPixelDecoders"/>).
/// </summary>
internal sealed record BenchCompile
{
    public Precision Precision { get; init; } = Precision.Fp32;
    public IReadOnlyList<string> Prefer { get; init; } = Array.Empty<string>();
    public bool? Autotune { get; init; }
    public int? RowBands { get; init; }
    public TensorLayout? Layout { get; init; }
    public bool SubPixel { get; init; } = true;

    public CompileOptions Apply(CompileOptions workload) => workload with
    {
        Precision = Precision,
        // At fp16 the inputs and outputs are f16 too, as the peer's fp16 tensors are: no conversion pass at the step's edges.
        F16InputsAndOutputs = Precision == Precision.Fp16,
        PreferKernels = Prefer,
        Autotune = Autotune,
        RowBands = RowBands ?? workload.RowBands,
        ActivationLayout = Layout ?? workload.ActivationLayout,
        SubPixelDecoders = SubPixel,
    };
}
