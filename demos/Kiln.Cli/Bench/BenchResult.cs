namespace Kiln.Cli.Bench;

/// <summary>
/// One workload's measurement, as printed and as written to JSON (snake_case field names). Times are medians over
/// <see cref="Iters"/> replays after <see cref="Warmup"/> unmeasured ones; a failed workload has only
/// <see cref="Error"/>.
/// </summary>
internal sealed record BenchResult
{
    public required string Workload { get; init; }
    public required string What { get; init; }
    public required string Config { get; init; }
    /// <summary>The activations' layout the workload ran with ("nchw" or "nhwc": --layout, or the compile's choice).</summary>
    public string? Layout { get; init; }
    public required string Size { get; init; }
    public IReadOnlyDictionary<string, int[]> Inputs { get; init; } = new Dictionary<string, int[]>();
    public int Iters { get; init; }
    /// <summary>Unmeasured replays before the measured ones: --warmup, or more where BenchRunner.MinWarmup took more.</summary>
    public int Warmup { get; init; }
    /// <summary>Graph plan + compile + parameter and random-input upload, milliseconds (once per workload, not in the step times).</summary>
    public double? CompileMs { get; init; }
    /// <summary>Seconds of <see cref="CompileMs"/> spent timing kernels (autotune; 0 where every shape was remembered).</summary>
    public double? TuneS { get; init; }
    /// <summary>Shapes that kept their untuned kernels because the tuning budget (--tune-budget) was spent.</summary>
    public int Untuned { get; init; }
    /// <summary>GPU timestamps from the first dispatch's start to the last one's end, per replay (barriers included).</summary>
    public double? GpuMs { get; init; }
    public double? GpuMinMs { get; init; }
    /// <summary>Sum of the dispatches' own GPU times per replay (without the gaps and barriers between them).</summary>
    public double? GpuDispatchSumMs { get; init; }
    /// <summary>Host time from submit to the fence signalling, per replay.</summary>
    public double? HostMs { get; init; }
    public double? HostMinMs { get; init; }
    public int Dispatches { get; init; }
    public double? Flops { get; init; }
    public double? Tflops { get; init; }
    /// <summary>A bandwidth workload's (<see cref="BenchWorkload.Bandwidth"/>) bytes per replay: every dispatch's values, once
    /// per direction (<see cref="PlannedDispatch.Bytes"/>).</summary>
    public long? Bytes { get; init; }
    /// <summary><see cref="Bytes"/> over the GPU time; <see cref="FractionOfLimit"/> is then of the copy bandwidth.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("gbps")]
    public double? GBps { get; init; }
    /// <summary>The compute limit (TFLOP/s) at the run's precision: fp32 FMA, recorded (H200) or measured at the start of the run; at fp16, where kernels with fp16 arithmetic run, the tensor-core peak on paper where known, else the fp32 limit.</summary>
    public double? LimitTflops { get; init; }
    public double? FractionOfLimit { get; init; }
    public long? PlannedBytes { get; init; }
    public double? PeerMs { get; init; }
    public string? PeerConfig { get; init; }
    /// <summary>Kiln GPU ms / peer ms: below 1 means Kiln is faster.</summary>
    public double? RatioToPeer { get; init; }
    public IReadOnlyList<KernelTime>? Kernels { get; init; }
    public string? Error { get; init; }
}

/// <summary>
/// One dispatch label's median GPU time in a replay, its share of the dispatches' total, and where it stands against the
/// roofline: its arithmetic (<see cref="PlannedDispatch.Flops"/>, 2 per multiply-add, 0 for passes that only move data)
/// and the bytes of the values it binds (<see cref="PlannedDispatch.Bytes"/>).
/// </summary>
internal sealed record KernelTime(string Label, string Kernel, double Ms, double MinMs, double Share)
{
    public double Flops { get; init; }
    public long Bytes { get; init; }
    /// <summary>
    /// The time the roofline allows it (its arithmetic at the compute limit or its bytes at the copy bandwidth, whichever
    /// takes longer) over its measured time; null where the limit it is bound by is unknown.
    /// </summary>
    public double? FractionOfRoofline { get; init; }

    public double Tflops => Ms > 0 ? Flops / (Ms * 1e-3) / 1e12 : 0;
    public double GBps => Ms > 0 ? Bytes / (Ms * 1e-3) / 1e9 : 0;
    /// <summary>"compute" where its arithmetic takes the roofline longer than its bytes, else "memory"; null with the fraction.</summary>
    public string? BoundBy { get; init; }

    /// <summary>
    /// This with <see cref="FractionOfRoofline"/> and <see cref="BoundBy"/> against a compute limit (TFLOP/s) and a copy
    /// bandwidth (TB/s); as it is for a dispatch that neither computes nor moves a value (the step state's).
    /// </summary>
    public KernelTime Against(double? tflops, double? copyTBps)
    {
        if (Flops == 0 && Bytes == 0) return this;
        double? compute = Flops > 0 ? Flops / (tflops * 1e12) : 0;
        double? memory = Bytes > 0 ? Bytes / (copyTBps * 1e12) : 0;
        if (compute is not { } c || memory is not { } m || Ms <= 0) return this;
        return this with { FractionOfRoofline = Math.Max(c, m) / (Ms * 1e-3), BoundBy = c > m ? "compute" : "memory" };
    }
}
