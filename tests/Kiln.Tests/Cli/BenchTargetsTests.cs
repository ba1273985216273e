using Kiln.Cli.Bench;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>
/// The targets `kiln bench --peer` checks on its full-size rows: each against the peer config it names, with its bound,
/// and neither met nor missed where a figure is missing.
/// </summary>
public sealed class BenchTargetsTests
{
    // The peer's figures of BENCHMARKS.md's H200 table, as torch_peer.py writes them.
    const string Peer = """
        {"info": {"gpu": "NVIDIA H200"}, "results": [
         {"workload": "conv3x3_c64_512_fwd", "config": "fp16-nhwc", "median_ms": 0.115},
         {"workload": "conv3x3_c64_512_bwd", "config": "fp16-nhwc", "median_ms": 0.293},
         {"workload": "conv3x3_c64_512_fwd", "config": "fp32", "median_ms": 0.546},
         {"workload": "conv3x3_c64_512_fwd", "config": "tf32", "median_ms": 0.243},
         {"workload": "denoise_unet_1920x1088_infer", "config": "fp16-nhwc-eager", "median_ms": 7.28},
         {"workload": "denoise_unet_1920x1088_infer", "config": "fp16-nhwc-cudagraph", "median_ms": 7.17},
         {"workload": "inpaint_unet_256_b8_train_step", "config": "fp16-amp", "median_ms": 5.99},
         {"workload": "mlp_64x4_b262144_train_step", "config": "fp16-amp", "median_ms": 1.53},
         {"workload": "mlp_64x4_b262144_train_step", "config": "fp32", "median_ms": 1.89},
         {"workload": "playground_mlp_b256_train_step", "config": "fp32", "median_ms": 0.833}]}
        """;

    static BenchResult Row(string workload, double gpuMs, string size = "full") =>
        new() { Workload = workload, What = "", Config = "", Size = size, GpuMs = gpuMs };

    static TargetCheck One(IReadOnlyList<TargetCheck> checks, string workload, string target) =>
        checks.Single(c => c.Workload == workload && c.Target.StartsWith(target, StringComparison.Ordinal));

    [Test]
    public void Fp16Rows_AgainstTheConfigEachTargetNames()
    {
        var peer = PeerResults.Parse(Peer, "peer");
        var checks = BenchTargets.Check(new[]
        {
            Row("conv3x3_c64_512_fwd", 0.110),
            Row("conv3x3_c64_512_bwd", 0.293),
            Row("denoise_unet_1920x1088_infer", 3.5),
            Row("inpaint_unet_256_b8_train_step", 4.2),
            Row("mlp_64x4_b262144_train_step", 0.6),
            Row("conv_autoencoder_64_b64_train_step", 3.0),
        }, peer, "fp16");

        var fwd = One(checks, "conv3x3_c64_512_fwd", "faster");
        Assert.That((fwd.Reference, fwd.ReferenceConfig, fwd.Met), Is.EqualTo(((double?)0.115, "fp16-nhwc", (bool?)true)));
        Assert.That(fwd.Value, Is.EqualTo(0.110 / 0.115).Within(1e-12));
        // Equal time is no slower than the peer (the milestone), but not faster (the conv target).
        Assert.That(One(checks, "conv3x3_c64_512_bwd", "no slower").Met, Is.True);
        Assert.That(One(checks, "conv3x3_c64_512_bwd", "faster").Met, Is.False);

        // The milestone takes the peer's eager denoiser; the 0.5 target its CUDA graph: 3.5 / 7.17 = 0.488.
        var eager = One(checks, "denoise_unet_1920x1088_infer", "no slower");
        Assert.That((eager.Reference, eager.ReferenceConfig), Is.EqualTo(((double?)7.28, "fp16-nhwc-eager")));
        var graph = One(checks, "denoise_unet_1920x1088_infer", "<= 0.5");
        Assert.That((graph.Reference, graph.ReferenceConfig, graph.Met), Is.EqualTo(((double?)7.17, "fp16-nhwc-cudagraph", (bool?)true)));

        // 4.2 / 5.99 = 0.70: no slower than the autocast step, not at 0.67 of it.
        Assert.That(One(checks, "inpaint_unet_256_b8_train_step", "no slower").Met, Is.True);
        var inpaint = One(checks, "inpaint_unet_256_b8_train_step", "<= 0.67");
        Assert.That((inpaint.ReferenceConfig, inpaint.Met), Is.EqualTo(("fp16-amp", (bool?)false)));
        // 0.6 / 1.53 = 0.39 > 0.33.
        Assert.That(One(checks, "mlp_64x4_b262144_train_step", "<= 0.33").Met, Is.False);

        // The peer ran the autoencoder at fp32 only: nothing to check at fp16, and no fp32 figure stands in.
        var ae = One(checks, "conv_autoencoder_64_b64_train_step", "no slower");
        Assert.That((ae.Reference, ae.Value, ae.Met), Is.EqualTo(((double?)null, (double?)null, (bool?)null)));
        Assert.That(checks, Has.Count.EqualTo(11), "two checks per conv row, two for each of the denoiser, inpainting and MLP rows, one for the autoencoder");
    }

    [Test]
    public void Fp32Rows_TakeStrictFp32_NotTf32()
    {
        var checks = BenchTargets.Check(new[] { Row("conv3x3_c64_512_fwd", 0.3), Row("playground_mlp_b256_train_step", 0.071) },
            PeerResults.Parse(Peer, "peer"), "fp32");
        var conv = One(checks, "conv3x3_c64_512_fwd", "faster");
        Assert.That((conv.ReferenceConfig, conv.Met), Is.EqualTo(("fp32", (bool?)true)), "against 0.546 strict fp32, not tf32's 0.243");
        var playground = One(checks, "playground_mlp_b256_train_step", "<= 0.1");
        Assert.That(playground.Value, Is.EqualTo(0.071 / 0.833).Within(1e-12));
        Assert.That(playground.Met, Is.True);
    }

    [Test]
    public void BandwidthRows_NeedNoPeer_AndSmallOrFailedRowsAreNotChecked()
    {
        var rows = new[]
        {
            Row("bandwidth_relu", 0.5) with { GBps = 3600, FractionOfLimit = 3600 / 4290.0 },
            Row("bandwidth_adam", 0.5) with { GBps = 2000, FractionOfLimit = 2000 / 4290.0 },
            Row("bandwidth_add", 0.5) with { GBps = 2000 },
            Row("conv3x3_c64_512_fwd", 0.01, size: "small"),
            Row("conv3x3_c64_512_bwd", 1) with { Error = "did not fit" },
        };
        var checks = BenchTargets.Check(rows, null, "fp32");
        Assert.That(checks.Select(c => (c.Workload, c.Met)), Is.EqualTo(new[] { ("bandwidth_relu", (bool?)true), ("bandwidth_adam", false), ("bandwidth_add", null) }));
        Assert.That(checks[0].Reference, Is.EqualTo(4290).Within(1e-9), "the copy bandwidth the fraction is of, in GB/s");
        Assert.That(BenchTargets.Check(rows, PeerResults.Parse(Peer, "peer"), "fp32"), Has.Count.EqualTo(3), "the small and the failed rows stay out with a peer too");
    }
}
