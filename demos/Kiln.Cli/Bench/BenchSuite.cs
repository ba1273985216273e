using System.Text.Json;
using Kiln.Graph;

namespace Kiln.Cli.Bench;

/// <summary>
/// `kiln bench [WORKLOAD...] [--precision fp32|fp16] [--size full|small] [--iters N] [--warmup N] [--json FILE] [--prefer ENTRIES]
/// [--peer FILE] [--kernels] [--roofline] [--autotune on|off] [--row-bands N] [--layout nchw|nhwc] [--subpixel on|off]`: the workloads of BENCHMARKS.md (words pick the ids containing them), each timed
/// by GPU timestamps and host submit-to-fence, printed as a table with throughput, the fraction of the device's
/// limit and, with a peer file, the Kiln/peer ratio. Exit 1 when a workload failed (did not fit the device, ...).
/// </summary>
internal static class BenchSuite
{
    public const string Usage = "kiln bench [WORKLOAD...] [--precision fp32|fp16] [--size full|small] [--iters N] [--warmup N] [--json FILE] [--peer FILE] [--kernels] [--roofline] [--prefer ENTRY[,ENTRY...]] [--autotune on|off] [--row-bands N] [--layout nchw|nhwc] [--subpixel on|off] [--tune-budget SECONDS]";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Benchmarks of their own with their own options (BenchCommand): `kiln bench conv3x3 --channels C --size S`, `kiln bench fashion-ae-step`.</summary>
    static readonly string[] OwnCommands = { "conv3x3", "fashion-ae-step" };
    static readonly string[] OwnValueOptions = { "--channels", "--size", "--iters", "--json", "--batch" };

    /// <summary>
    /// `kiln bench conv3x3 ...` is the one-convolution benchmark only when nothing after it belongs to the suite: no
    /// further workload word (`kiln bench conv3x3 inpaint` filters the suite's workloads), no suite option, and a
    /// numeric --size.
    /// </summary>
    static bool IsOwnCommand(string[] args)
    {
        if (args.Length == 0 || !OwnCommands.Contains(args[0])) return false;
        for (int i = 1; i < args.Length; i++)
        {
            if (OwnValueOptions.Contains(args[i]))
            {
                if (args[i] == "--size" && i + 1 < args.Length && !int.TryParse(args[i + 1], out _)) return false;
                i++;
                continue;
            }
            if (!args[i].StartsWith('-') || args[i] is "--precision" or "--peer" or "--kernels" or "--roofline" or "--warmup" or "--prefer" or "--autotune" or "--row-bands" or "--layout" or "--subpixel" or "--tune-budget") return false;
        }
        return true;
    }

    public static int Run(string[] args)
    {
        if (IsOwnCommand(args)) return BenchCommand.Run(args);
        var words = new List<string>();
        string precision = "fp32";
        var size = BenchSize.Full;
        int iters = 20, warmup = -1;
        string? json = null, peerPath = null;
        var prefer = new List<string>();
        bool kernels = false, roofline = false;
        bool? autotune = null;
        int? rowBands = null;
        TensorLayout? layout = null;
        bool subPixel = true;
        double? tuneBudget = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"bench: {args[i]} needs a value\nusage: {Usage}");
            switch (args[i])
            {
                case "--precision": precision = CliApp.ParsePrecision("bench", Next()) == Precision.Fp16 ? "fp16" : "fp32"; break;
                case "--size":
                    size = Next() switch
                    {
                        "full" => BenchSize.Full,
                        "small" => BenchSize.Small,
                        var s => throw new ArgumentException($"bench: --size takes full or small, got '{s}'"),
                    };
                    break;
                case "--iters": iters = Positive("--iters", Next()); break;
                case "--warmup": warmup = Positive("--warmup", Next(), allowZero: true); break;
                case "--json": json = Next(); break;
                case "--peer": peerPath = Next(); break;
                case "--kernels": kernels = true; break;
                case "--roofline": roofline = true; break;
                case "--autotune": autotune = CliApp.ParseOnOff("bench", "--autotune", Next()); break;
                case "--row-bands": rowBands = Positive("--row-bands", Next(), allowZero: true); break;
                case "--subpixel": subPixel = CliApp.ParseOnOff("bench", "--subpixel", Next()); break;
                case "--tune-budget":
                    var budget = Next();
                    tuneBudget = double.TryParse(budget, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var b) && b >= 0 && double.IsFinite(b)
                        ? b : throw new ArgumentException($"bench: --tune-budget takes seconds (a number >= 0), got '{budget}'");
                    break;
                case "--layout": layout = CliApp.ParseLayout("bench", Next()); break;
                case "--prefer": prefer.AddRange(CliApp.ParseEntries("bench", Next())); break;
                default:
                    if (args[i].StartsWith('-')) return CliApp.Fail($"bench: unknown option '{args[i]}'\nusage: {Usage}");
                    words.Add(args[i]);
                    break;
            }
        }
        var workloads = BenchWorkloads.Matching(words);
        if (workloads.Count == 0)
            return CliApp.Fail($"bench: no workload id contains {string.Join(" or ", words.Select(w => $"'{w}'"))}; workloads: {string.Join(", ", BenchWorkloads.Known.Select(w => w.Id))}");
        var peer = peerPath != null ? PeerResults.Load(peerPath) : null;
        if (warmup < 0) warmup = size == BenchSize.Full ? 5 : 2;

        using var context = GpuContext.Create(new ContextOptions { Profiling = true, TuningBudget = tuneBudget is { } t ? TimeSpan.FromSeconds(t) : null });
        var device = context.Info;
        if (device.TimestampPeriodNs <= 0) Console.Error.WriteLine($"kiln: bench: {device.Name} has no compute-queue timestamps; only host times are measured");
        // The H200's limits are recorded in BENCHMARKS.md; any other device's are measured (a second at most).
        bool recorded = DeviceLimits.For(device, null).Fp32Tflops != null;
        var measured = roofline || !recorded ? DeviceRoofline.Measure(context) : null;
        var fp16Paths = KernelRegistry.All.Where(k => k.Arithmetic == Precision.Fp16 && k.Supports(context.KernelDevice)).ToList();
        bool fp16Arithmetic = fp16Paths.Any(k => k.PreferredOn(context.KernelDevice) || KernelRegistry.Names(prefer, k));
        var limits = DeviceLimits.For(device, measured) with { Fp16Arithmetic = fp16Arithmetic };
        Console.WriteLine($"kiln bench on {device.Name} ({device.Type}, {device.DriverName} {device.DriverInfo}), {precision}, {(size == BenchSize.Full ? "full" : "small")} sizes, " +
                          $"median of {iters} replays after {warmup} warm-up{(size == BenchSize.Full ? $" (and at least {BenchRunner.MinWarmup.TotalSeconds:0.#} s of them)" : "")}{(iters < 20 ? " (fewer than BENCHMARKS.md's 20)" : "")}");
        Console.WriteLine($"limit: {limits.Source}");
        bool tuning = autotune ?? !device.IsCpu;
        Console.WriteLine(tuning
            ? $"autotune: on (tile sizes timed per shape on first use, kept in {context.Tuner.FilePath ?? "memory only"}{(context.Tuner.Budget is { } tb ? $"; at most {tb.TotalSeconds:0.#} s of timing, shared out over the workloads, then untuned kernels" : "")})"
            : "autotune: off (default tile sizes)");
        if (peer != null) Console.WriteLine($"peer: {peerPath} ({peer.Count} results{(peer.Gpu != "" ? $" on {peer.Gpu}" : "")}); ratio = Kiln GPU ms / peer ms, below 1 is faster");
        if (device.IsCpu) Console.WriteLine("note: a CPU Vulkan device: only correctness and host overhead mean anything here, not speed");
        if (precision == "fp16")
        {
            string limit = limits.ComputeTflops(Precision.Fp16) is { } tflops
                ? $"fractions of {(fp16Arithmetic ? "the fp16 tensor-core peak" : "the f32 limit")}, {tflops:G3} TFLOP/s"
                : $"the {(fp16Arithmetic ? "fp16 tensor-core peak" : "f32 limit")} is unknown here";
            Console.WriteLine(fp16Arithmetic
                ? $"fp16: activations and their gradients stored as f16; kernels with an fp16 path (the cooperative-matrix convolutions, Linear and fused MLP) take fp16 operands with f32 accumulation, the others compute in f32; {limit}"
                : fp16Paths.Count > 0
                ? $"fp16: activations and their gradients stored as f16, arithmetic in f32 (on {device.Name} the kernels with an fp16 path run only when named: --prefer {string.Join(",", fp16Paths.Select(k => k.GetType().Name))}); {limit}"
                : $"fp16: activations and their gradients stored as f16, arithmetic in f32 ({device.Name} has no kernel with an fp16 path: no cooperative matrices); {limit}");
        }
        if (layout == TensorLayout.Nhwc) Console.WriteLine("layout: NHWC activations");
        if (!subPixel) Console.WriteLine("subpixel: off (the UNet decoders' convolutions in their 3x3 form, forward and backward)");
        BenchTable.PrintHeader(peer != null);
        var compile = new BenchCompile
        {
            Precision = precision == "fp16" ? Precision.Fp16 : Precision.Fp32, Prefer = prefer, Autotune = autotune, RowBands = rowBands, Layout = layout,
            SubPixel = subPixel,
        };

        var results = new List<BenchResult>();
        // A tuning budget (--tune-budget, or the context's) is shared out: each workload may time kernels for an equal
        // share of what is left, so the last ones are not left untuned by the first; what one leaves passes on.
        var tuningTotal = context.Tuner.Budget;
        foreach (var w in workloads)
        {
            if (tuningTotal is { } total) context.Tuner.Budget = TuningShare(total, context.Tuner.Seconds, workloads.Count - results.Count);
            var r = BenchRunner.Run(context, w, size, iters, warmup, kernels, limits, compile);
            if (peer?.Find(w.Id, precision) is { } p && r.GpuMs is { } gpu)
                r = r with { PeerMs = p.Ms, PeerConfig = p.Config, RatioToPeer = gpu / p.Ms };
            results.Add(r);
            BenchTable.PrintRow(r, peer != null);
            if (kernels) BenchTable.PrintKernels(r);
            // After each workload, so a run cut short (a device call's time limit) keeps what it measured.
            if (json != null) WriteJson(results.Count == workloads.Count);
        }
        BenchTargets.Print(BenchTargets.Check(results, peer, precision));
        if (peer != null && size != BenchSize.Full) Console.WriteLine("targets: checked at the full sizes only");
        if (tuning)
            Console.WriteLine($"autotune: {context.Tuner.Timed} shapes timed in {context.Tuner.Seconds:0.0} s" +
                              (context.Tuner.Skipped > 0 ? $"; {context.Tuner.Skipped} left untuned (tuning budget spent)" : ""));
        if (json != null) Console.WriteLine($"wrote {json}");

        void WriteJson(bool complete)
        {
            var doc = new
            {
                device = device.Name,
                device_type = device.Type,
                driver = $"{device.DriverName} {device.DriverInfo}".Trim(),
                precision,
                size = size == BenchSize.Full ? "full" : "small",
                iters,
                warmup,
                autotune = tuning,
                tune_budget_s = tuningTotal?.TotalSeconds,
                complete,
                limits = new { fp32_tflops = limits.Fp32Tflops, fp16_tensor_tflops = limits.Fp16TensorTflops, fp16_arithmetic = limits.Fp16Arithmetic, copy_tbps = limits.CopyTBps, source = limits.Source },
                roofline = measured == null ? null : new
                {
                    fp32_tflops = measured.Fp32Tflops,
                    copy_gbps = measured.CopyGBps,
                    copy_bytes = measured.CopyBytes,
                    copy_ms = measured.CopyMs,
                    fma_flops = measured.FmaFlops,
                    fma_ms = measured.FmaMs,
                },
                peer = peerPath,
                peer_gpu = peer?.Gpu,
                results,
                targets = BenchTargets.Check(results, peer, precision),
            };
            var bytes = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(doc, Json));
            var path = Path.GetFullPath(json!);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Kiln.IO.AtomicFile.Write(path, s => s.Write(bytes));
        }
        int failed = results.Count(r => r.Error != null);
        if (failed > 0) Console.Error.WriteLine($"kiln: bench: {failed} of {results.Count} workloads failed");
        return failed > 0 ? 1 : 0;
    }

    /// <summary>
    /// The tuner's budget (a cap on its seconds so far) that gives the next of <paramref name="remaining"/> workloads an
    /// equal share of what is left of <paramref name="total"/> after <paramref name="spent"/> seconds.
    /// </summary>
    internal static TimeSpan TuningShare(TimeSpan total, double spent, int remaining) =>
        TimeSpan.FromSeconds(spent + Math.Max(0, total.TotalSeconds - spent) / Math.Max(1, remaining));

    static int Positive(string option, string value, bool allowZero = false) =>
        int.TryParse(value, out int n) && (n > 0 || allowZero && n == 0) ? n
            : throw new ArgumentException($"bench: {option} takes a {(allowZero ? "non-negative" : "positive")} whole number, got '{value}'");
}
