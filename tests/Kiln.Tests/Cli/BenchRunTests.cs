using System.Text.Json;
using Kiln.Cli.Bench;
using Kiln.Graph;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`kiln bench` at the small sizes on the device at hand (lavapipe in CI): the JSON it writes, the peer ratio, the kernel table.</summary>
public sealed class BenchRunTests : GpuTest
{
    [Test]
    public void SmallRunWritesJsonWithEveryField()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var peerPath = Path.Combine(dir, "torch_peer.json");
            File.WriteAllText(peerPath, """
                {"info": {"gpu": "NVIDIA H200"}, "results": [
                 {"workload": "conv3x3_c64_512_fwd", "config": "fp32", "median_ms": 0.546, "tflops": 4.43},
                 {"workload": "conv3x3_c64_512_fwd", "config": "tf32", "median_ms": 0.243, "tflops": 9.94}]}
                """);
            var json = Path.Combine(dir, "out", "bench.json");
            var r = CliRun.Run("bench", "conv3x3_c64_512_fwd", "playground", "--size", "small", "--iters", "3", "--warmup", "1",
                "--kernels", "--peer", peerPath, "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            Assert.That(r.Stderr, Is.Empty, "no warnings, no validation messages");
            Assert.That(r.Stdout, Does.Contain("conv3x3_c64_512_fwd").And.Contain("playground_mlp_b256_train_step").And.Contain("Kiln/peer"));

            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            Assert.That(root.GetProperty("device").GetString(), Is.EqualTo(Context.Info.Name));
            Assert.That(root.GetProperty("precision").GetString(), Is.EqualTo("fp32"));
            Assert.That(root.GetProperty("size").GetString(), Is.EqualTo("small"));
            Assert.That(root.GetProperty("peer_gpu").GetString(), Is.EqualTo("NVIDIA H200"));
            Assert.That(root.GetProperty("complete").GetBoolean(), Is.True, "every workload ran");
            Assert.That(root.GetProperty("tune_budget_s").ValueKind, Is.EqualTo(JsonValueKind.Null));
            var roofline = root.GetProperty("roofline");
            foreach (var field in new[] { "fp32_tflops", "copy_gbps", "copy_bytes", "copy_ms", "fma_flops", "fma_ms" })
                Assert.That(roofline.GetProperty(field).GetDouble(), Is.GreaterThan(0), field);
            Assert.That(root.GetProperty("limits").GetProperty("source").GetString(), Does.StartWith("measured now"));
            var results = root.GetProperty("results").EnumerateArray().ToList();
            Assert.That(results.Select(e => e.GetProperty("workload").GetString()), Is.EqualTo(new[] { "conv3x3_c64_512_fwd", "playground_mlp_b256_train_step" }));
            foreach (var e in results)
            {
                foreach (var field in new[] { "gpu_ms", "gpu_min_ms", "gpu_dispatch_sum_ms", "host_ms", "host_min_ms", "compile_ms", "flops", "tflops" })
                    Assert.That(e.GetProperty(field).GetDouble(), Is.GreaterThan(0), field);
                Assert.That(e.GetProperty("gpu_min_ms").GetDouble(), Is.LessThanOrEqualTo(e.GetProperty("gpu_ms").GetDouble()));
                // The dispatches' own times fit inside the span from the first start to the last end.
                Assert.That(e.GetProperty("gpu_dispatch_sum_ms").GetDouble(), Is.LessThanOrEqualTo(e.GetProperty("gpu_ms").GetDouble() * 1.0001));
                Assert.That(e.GetProperty("iters").GetInt32(), Is.EqualTo(3));
                Assert.That(e.GetProperty("config").GetString(), Is.EqualTo("fp32"));
                Assert.That(e.GetProperty("layout").GetString(), Is.EqualTo("nchw"), "untuned on lavapipe: NCHW");
                Assert.That(e.GetProperty("error").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(e.GetProperty("tune_s").GetDouble(), Is.Zero, "untuned on lavapipe");
                Assert.That(e.GetProperty("untuned").GetInt32(), Is.Zero);
                // Not the H200 of BENCHMARKS.md: the limit is the roofline measured at the start of the run.
                Assert.That(e.GetProperty("limit_tflops").GetDouble(), Is.EqualTo(root.GetProperty("roofline").GetProperty("fp32_tflops").GetDouble()));
                Assert.That(e.GetProperty("fraction_of_limit").GetDouble(),
                    Is.EqualTo(e.GetProperty("tflops").GetDouble() / e.GetProperty("limit_tflops").GetDouble()).Within(1e-9).Percent);
                double tflops = e.GetProperty("flops").GetDouble() / (e.GetProperty("gpu_ms").GetDouble() * 1e-3) / 1e12;
                Assert.That(e.GetProperty("tflops").GetDouble(), Is.EqualTo(tflops).Within(1e-9).Percent);
                var kernels = e.GetProperty("kernels").EnumerateArray().ToList();
                Assert.That(kernels, Is.Not.Empty);
                Assert.That(kernels.Sum(k => k.GetProperty("share").GetDouble()), Is.EqualTo(1).Within(1e-6));
                Assert.That(kernels.All(k => k.GetProperty("kernel").GetString() != "?"), "every dispatch label maps to its kernel");
                // Each dispatch against the roofline: the time its FLOPs or bytes take at the limits, over its time.
                double peak = e.GetProperty("limit_tflops").GetDouble() * 1e12, copy = root.GetProperty("limits").GetProperty("copy_tbps").GetDouble() * 1e12;
                foreach (var k in kernels.Where(k => k.GetProperty("bytes").GetInt64() > 0))
                {
                    double flops = k.GetProperty("flops").GetDouble(), bytes = k.GetProperty("bytes").GetInt64(), seconds = k.GetProperty("ms").GetDouble() * 1e-3;
                    Assert.That(k.GetProperty("fraction_of_roofline").GetDouble(), Is.EqualTo(Math.Max(flops / peak, bytes / copy) / seconds).Within(1e-6).Percent);
                    Assert.That(k.GetProperty("bound_by").GetString(), Is.EqualTo(flops / peak > bytes / copy ? "compute" : "memory"));
                    Assert.That(k.GetProperty("g_bps").GetDouble(), Is.EqualTo(bytes / seconds / 1e9).Within(1e-6).Percent);
                }
                Assert.That(kernels.Sum(k => k.GetProperty("flops").GetDouble()), Is.GreaterThan(0));
            }
            Assert.That(r.Stdout, Does.Contain("roofline").And.Contain("GB/s"));

            var conv = results[0];
            Assert.That(conv.GetProperty("inputs").GetProperty("x").EnumerateArray().Select(v => v.GetInt32()), Is.EqualTo(new[] { 1, 16, 32, 32 }));
            Assert.That(conv.GetProperty("flops").GetDouble(), Is.EqualTo(2.0 * 16 * 16 * 9 * 32 * 32));
            Assert.That(conv.GetProperty("dispatches").GetInt32(), Is.EqualTo(1), "inference of one conv is one dispatch");
            var convKernel = conv.GetProperty("kernels").EnumerateArray().Single();
            Assert.That(convKernel.GetProperty("flops").GetDouble(), Is.EqualTo(conv.GetProperty("flops").GetDouble()), "the conv's dispatch carries its arithmetic");
            Assert.That(convKernel.GetProperty("bytes").GetInt64(), Is.EqualTo(4L * (16 * 32 * 32 + 16 * 16 * 9 + 16 + 16 * 32 * 32)), "x, w, b read; y written");
            Assert.That(conv.GetProperty("peer_ms").GetDouble(), Is.EqualTo(0.546), "the strict-fp32 peer row, not tf32");
            Assert.That(conv.GetProperty("ratio_to_peer").GetDouble(), Is.EqualTo(conv.GetProperty("gpu_ms").GetDouble() / 0.546).Within(1e-9).Percent);
            var mlp = results[1];
            Assert.That(mlp.GetProperty("peer_ms").ValueKind, Is.EqualTo(JsonValueKind.Null), "the peer file has no playground row");
            Assert.That(mlp.GetProperty("ratio_to_peer").ValueKind, Is.EqualTo(JsonValueKind.Null));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>--layout nhwc: the denoiser's inference and the conv's training step run channels-last (their rows say so, in
    /// the table and the JSON), the step's gradients through the NHWC kernels.</summary>
    [Test]
    public void Layout_Nhwc_RunsTheWorkloadsChannelsLast()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var json = Path.Combine(dir, "bench.json");
            var r = CliRun.Run("bench", "denoise_unet_1280", "conv3x3_c64_512_bwd", "playground", "--size", "small", "--iters", "2", "--warmup", "1", "--layout", "nhwc",
                "--kernels", "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            Assert.That(r.Stdout, Does.Contain("denoise_unet_1280x720_infer (nhwc)").And.Contain("conv2d.fwd.nhwc")
                .And.Contain("conv3x3_c64_512_bwd (nhwc)").And.Contain("conv2d.bwd_weight.nhwc"));
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var layouts = doc.RootElement.GetProperty("results").EnumerateArray()
                .ToDictionary(e => e.GetProperty("workload").GetString()!, e => e.GetProperty("layout").GetString());
            Assert.That(layouts["denoise_unet_1280x720_infer"], Is.EqualTo("nhwc"));
            Assert.That(layouts["conv3x3_c64_512_bwd"], Is.EqualTo("nhwc"));
            Assert.That(layouts["playground_mlp_b256_train_step"], Is.EqualTo("nchw"), "an MLP has no 4-D activations to lay out");
            Assert.That(r.Stdout, Does.Not.Contain("playground_mlp_b256_train_step (nhwc)"));
            Assert.That(CliRun.Run("bench", "denoise", "--layout", "nwhc").Stderr, Does.Contain("--layout takes nchw or nhwc"));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// With a peer file, a full-size run checks its rows against the targets (the playground step: no slower than the
    /// peer, and at most 0.1 x of it), prints them with a count, and writes them to the JSON; a small run does not.
    /// </summary>
    [Test]
    public void WithAPeer_FullSizeRowsAreCheckedAgainstTheTargets()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var peerPath = Path.Combine(dir, "torch_peer.json");
            File.WriteAllText(peerPath, """{"results": [{"workload": "playground_mlp_b256_train_step", "config": "fp32", "median_ms": 1e6}]}""");
            var json = Path.Combine(dir, "bench.json");
            var r = CliRun.Run("bench", "playground", "--iters", "3", "--warmup", "1", "--peer", peerPath, "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            // A peer that took a thousand seconds: both targets met, whatever lavapipe's time.
            Assert.That(r.Stdout, Does.Contain("targets: 2 of 2 met, 0 missed"));
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var targets = doc.RootElement.GetProperty("targets").EnumerateArray().ToList();
            Assert.That(targets.Select(t => t.GetProperty("target").GetString()), Is.EqualTo(new[] { "no slower than the peer's eager time", "<= 0.1 x the peer" }));
            double ms = doc.RootElement.GetProperty("results")[0].GetProperty("gpu_ms").GetDouble();
            foreach (var t in targets)
            {
                Assert.That(t.GetProperty("kiln").GetDouble(), Is.EqualTo(ms));
                Assert.That(t.GetProperty("value").GetDouble(), Is.EqualTo(ms / 1e6).Within(1e-9).Percent);
                Assert.That(t.GetProperty("met").GetBoolean(), Is.True);
            }

            r = CliRun.Run("bench", "playground", "--size", "small", "--iters", "2", "--warmup", "1", "--peer", peerPath, "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            Assert.That(r.Stdout, Does.Contain("targets: checked at the full sizes only"));
            using var small = JsonDocument.Parse(File.ReadAllText(json));
            Assert.That(small.RootElement.GetProperty("targets").GetArrayLength(), Is.Zero);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// At fp16 a row is a fraction of the fp16 tensor-core peak only where kernels with fp16 arithmetic run; on a device
    /// without them (lavapipe) the arithmetic is f32, and so is the limit: the roofline measured at the start.
    /// </summary>
    [Test]
    public void Fp16_IsAFractionOfTheLimitOfTheArithmeticThatRuns()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var json = Path.Combine(dir, "bench.json");
            var r = CliRun.Run("bench", "conv3x3_c64_512_fwd", "--size", "small", "--iters", "2", "--warmup", "1", "--precision", "fp16", "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            var limits = root.GetProperty("limits");
            bool fp16Arithmetic = KernelRegistry.All.Any(k => k.Arithmetic == Precision.Fp16 && k.Supports(Context.KernelDevice) && k.PreferredOn(Context.KernelDevice));
            Assert.That(limits.GetProperty("fp16_arithmetic").GetBoolean(), Is.EqualTo(fp16Arithmetic));
            var row = root.GetProperty("results").EnumerateArray().Single();
            if (fp16Arithmetic)
            {
                Assert.That(r.Stdout, Does.Contain("fp16 tensor-core peak"));
                if (limits.GetProperty("fp16_tensor_tflops").ValueKind == JsonValueKind.Null)
                    Assert.That(row.GetProperty("fraction_of_limit").ValueKind, Is.EqualTo(JsonValueKind.Null), "no tensor-core peak is known here");
                else
                    Assert.That(row.GetProperty("limit_tflops").GetDouble(), Is.EqualTo(limits.GetProperty("fp16_tensor_tflops").GetDouble()));
            }
            else
            {
                Assert.That(r.Stdout, Does.Contain("arithmetic in f32").And.Contain("fractions of the f32 limit"));
                Assert.That(row.GetProperty("limit_tflops").GetDouble(), Is.EqualTo(limits.GetProperty("fp32_tflops").GetDouble()).And.GreaterThan(0));
                Assert.That(row.GetProperty("fraction_of_limit").GetDouble(),
                    Is.EqualTo(row.GetProperty("tflops").GetDouble() / row.GetProperty("limit_tflops").GetDouble()).Within(1e-9).Percent);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// --tune-budget: with none to spend, a tuned run keeps the untuned kernels and says how many shapes it left; each
    /// row's JSON counts its own.
    /// </summary>
    [Test]
    public void ASpentTuneBudget_LeavesShapesUntunedAndSaysSo()
    {
        var dir = CliRun.TempFolder();
        var cache = Environment.GetEnvironmentVariable("KILN_CACHE_DIR");
        try
        {
            // A cache of its own: a shape remembered by an earlier run would be recalled, not left untuned.
            Environment.SetEnvironmentVariable("KILN_CACHE_DIR", dir);
            var json = Path.Combine(dir, "bench.json");
            var r = CliRun.Run("bench", "conv3x3_c64_512_fwd", "--size", "small", "--iters", "1", "--warmup", "0", "--autotune", "on", "--tune-budget", "0", "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            Assert.That(r.Stdout, Does.Contain("at most 0 s of timing").And.Contain("autotune: 0 shapes timed in 0.0 s; 1 left untuned (tuning budget spent)"));
            Assert.That(r.Stderr, Does.Contain("time budget is spent"));
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.That(doc.RootElement.GetProperty("tune_budget_s").GetDouble(), Is.Zero);
            var row = doc.RootElement.GetProperty("results").EnumerateArray().Single();
            Assert.That(row.GetProperty("untuned").GetInt32(), Is.EqualTo(1));
            Assert.That(row.GetProperty("tune_s").GetDouble(), Is.Zero);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KILN_CACHE_DIR", cache);
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The single-convolution benchmark keeps its own options (--channels, a numeric --size) beside the suite.</summary>
    [Test]
    public void ConvBenchOfItsOwnStillRuns()
    {
        var r = CliRun.Run("bench", "conv3x3", "--channels", "4", "--size", "8", "--iters", "2");
        Assert.That(r.Code, Is.Zero, r.Stderr);
        Assert.That(r.Stdout, Does.Contain("conv3x3_c4_8"));
    }

    [Test]
    public void EveryWorkloadPlansAtTheSmallSizeOnThisDevice()
    {
        foreach (var w in BenchWorkloads.All)
        {
            var setup = w.Build(BenchSize.Small);
            var plan = setup.Network.Plan(Context.Info, setup.Options);
            Assert.That(plan.Warnings, Is.Empty, w.Id);
            Assert.That(plan.Dispatches, Is.Not.Empty, w.Id);
            Assert.That(setup.Flops, Is.GreaterThan(0), w.Id);
        }
    }

    /// <summary>
    /// `kiln bench bandwidth` runs the bandwidth-bound passes alone (not part of the default run): each row in GB/s, the
    /// step's bytes (every dispatch's values, once per direction) over its GPU time, and its fraction of the copy
    /// bandwidth measured at the start; at fp16 the passes run on f16 values. The default run has none of them.
    /// </summary>
    [TestCase("fp32")]
    [TestCase("fp16")]
    public void BandwidthWorkloadsReportGigabytesPerSecond(string precision)
    {
        var dir = CliRun.TempFolder();
        try
        {
            var json = Path.Combine(dir, "bandwidth.json");
            var r = CliRun.Run("bench", "bandwidth", "--size", "small", "--iters", "3", "--warmup", "1", "--precision", precision, "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            Assert.That(r.Stdout, Does.Contain(" GB/s"));
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            double copyGBps = root.GetProperty("roofline").GetProperty("copy_gbps").GetDouble();
            var results = root.GetProperty("results").EnumerateArray().ToList();
            Assert.That(results.Select(e => e.GetProperty("workload").GetString()),
                Is.EqualTo(BenchWorkloads.BandwidthBound.Select(w => w.Id)), "every bandwidth workload, and only those");
            foreach (var e in results)
            {
                string id = e.GetProperty("workload").GetString()!;
                Assert.That(e.GetProperty("error").ValueKind, Is.EqualTo(JsonValueKind.Null), id);
                Assert.That(e.GetProperty("tflops").ValueKind, Is.EqualTo(JsonValueKind.Null), id);
                double bytes = e.GetProperty("bytes").GetDouble(), gbps = e.GetProperty("gbps").GetDouble();
                Assert.That(bytes, Is.GreaterThan(0), id);
                Assert.That(gbps, Is.EqualTo(bytes / (e.GetProperty("gpu_ms").GetDouble() * 1e-3) / 1e9).Within(1e-9).Percent, id);
                Assert.That(e.GetProperty("fraction_of_limit").GetDouble(), Is.EqualTo(gbps / copyGBps).Within(1e-6).Percent, id);
            }
            // The ReLU pass reads x and writes y: 2 x 8 x 64 x 64 values of 4 bytes, or 2 at fp16.
            var relu = results.Single(e => e.GetProperty("workload").GetString() == "bandwidth_relu");
            Assert.That(relu.GetProperty("bytes").GetInt64(), Is.EqualTo(2L * 8 * 64 * 64 * (precision == "fp16" ? 2 : 4)));
        }
        finally { Directory.Delete(dir, true); }
        Assert.That(BenchWorkloads.Matching(Array.Empty<string>()), Has.None.Matches<BenchWorkload>(w => w.Bandwidth));
    }

    /// <summary>
    /// `kiln bench gemm` runs the diagnostic products alone (not part of the default run): a Linear and a 1x1 convolution
    /// whose products are the same M x N x K (64^3 at the small size), each in TFLOP/s with its FLOPs counted by hand.
    /// </summary>
    [Test]
    public void GemmDiagnostics_RunWhenNamed_InTflops()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var json = Path.Combine(dir, "gemm.json");
            var r = CliRun.Run("bench", "gemm", "--size", "small", "--iters", "3", "--warmup", "1", "--json", json);
            Assert.That(r.Code, Is.Zero, r.Stderr + r.Stdout);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.That(results.Select(e => e.GetProperty("workload").GetString()), Is.EqualTo(BenchWorkloads.Diagnostics.Select(w => w.Id)));
            foreach (var e in results)
            {
                string id = e.GetProperty("workload").GetString()!;
                Assert.That(e.GetProperty("error").ValueKind, Is.EqualTo(JsonValueKind.Null), id);
                Assert.That(e.GetProperty("flops").GetDouble(), Is.EqualTo(2.0 * 64 * 64 * 64), id);
                Assert.That(e.GetProperty("tflops").GetDouble(), Is.GreaterThan(0), id);
            }
        }
        finally { Directory.Delete(dir, true); }
        Assert.That(BenchWorkloads.Matching(Array.Empty<string>()), Has.None.Matches<BenchWorkload>(w => BenchWorkloads.Diagnostics.Contains(w)));
    }

    /// <summary>The FLOP counts of the full workloads: a 3x3 conv by hand, the denoiser against BENCHMARKS.md's "about 0.6 TFLOP".</summary>
    [Test]
    public void FlopCountsOfTheFullWorkloads()
    {
        double Flops(string id) => BenchWorkloads.All.Single(w => w.Id == id).Build(BenchSize.Full).Flops;
        Assert.That(Flops("conv3x3_c64_512_fwd"), Is.EqualTo(2.0 * 64 * 64 * 9 * 512 * 512));
        Assert.That(Flops("conv3x3_c64_512_bwd"), Is.EqualTo(3 * 2.0 * 64 * 64 * 9 * 512 * 512));
        Assert.That(Flops("denoise_unet_1920x1088_infer"), Is.InRange(0.55e12, 0.65e12));
        Assert.That(Flops("mlp_64x4_b262144_train_step"), Is.EqualTo(3 * 2.0 * 262144 * (3 * 64 + 3 * 64 * 64 + 64 * 3)));
        Assert.That(Flops("playground_mlp_b256_train_step"), Is.EqualTo(3 * 2.0 * 256 * (2 * 8 + 8 * 8 + 8 * 1)));
    }
}
