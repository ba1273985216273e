using Kiln.Cli.Bench;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>Reading shared/peers/torch_peer.py's results: its torch_peer.json, or its standard output line by line.</summary>
public sealed class PeerResultsTests
{
    // As torch_peer.py writes torch_peer.json (json.dump(..., indent=1)), numbers from BENCHMARKS.md's table.
    const string PeerJson = """
        {
         "info": {"torch": "2.11.0", "cudnn": 91900, "gpu": "NVIDIA H200"},
         "results": [
          {"workload": "conv3x3_c64_512_fwd", "config": "fp32", "median_ms": 0.546, "tflops": 4.43},
          {"workload": "conv3x3_c64_512_fwd", "config": "tf32", "median_ms": 0.243, "tflops": 9.94},
          {"workload": "conv3x3_c64_512_fwd", "config": "fp16-nhwc", "median_ms": 0.115, "tflops": 21.0},
          {"workload": "denoise_unet_1920x1088_infer", "config": "fp32-eager", "median_ms": 22.4, "tflops": 26.9},
          {"workload": "denoise_unet_1920x1088_infer", "config": "fp16-nhwc-eager", "median_ms": 7.28, "tflops": 83.0},
          {"workload": "denoise_unet_1920x1088_infer", "config": "fp16-nhwc-cudagraph", "median_ms": 7.17, "tflops": 84.3},
          {"workload": "playground_mlp_b256_train_step", "config": "fp32", "median_ms": 0.833}
         ]
        }
        """;

    [Test]
    public void ReadsThePeersJsonFile()
    {
        var peer = PeerResults.Parse(PeerJson, "torch_peer.json");
        Assert.That(peer.Gpu, Is.EqualTo("NVIDIA H200"));
        Assert.That(peer.Count, Is.EqualTo(7));
        Assert.That(peer.Find("conv3x3_c64_512_fwd", "fp32"), Is.EqualTo((0.546, "fp32")), "strict fp32, not tf32");
        Assert.That(peer.Find("denoise_unet_1920x1088_infer", "fp32"), Is.EqualTo((22.4, "fp32-eager")));
        Assert.That(peer.Find("denoise_unet_1920x1088_infer", "fp16"), Is.EqualTo((7.17, "fp16-nhwc-cudagraph")), "the peer's best fp16");
        Assert.That(peer.Find("playground_mlp_b256_train_step", "fp16"), Is.Null);
        Assert.That(peer.Find("mlp_64x4_b262144_train_step", "fp32"), Is.Null);
    }

    [Test]
    public void ReadsThePeersStandardOutput()
    {
        var stdout = """
            == peer (PyTorch on the same GPU)
            {"workload": "conv3x3_c256_128_bwd", "config": "fp32", "median_ms": 1.264, "tflops": 7.2}
            {"workload": "inpaint_unet_256_b8_train_step", "config": "fp16-nhwc-amp", "median_ms": 5.99, "tflops": 50.1}
            {"torch": "2.11.0", "cudnn": 91900, "gpu": "NVIDIA H200"}
            """;
        var peer = PeerResults.Parse(stdout, "peer.log");
        Assert.That(peer.Count, Is.EqualTo(2));
        Assert.That(peer.Gpu, Is.EqualTo("NVIDIA H200"));
        Assert.That(peer.Find("conv3x3_c256_128_bwd", "fp32")!.Value.Ms, Is.EqualTo(1.264));
        Assert.That(peer.Find("inpaint_unet_256_b8_train_step", "fp16")!.Value.Config, Is.EqualTo("fp16-nhwc-amp"));
    }

    [TestCase("", "has no results")]
    [TestCase("{\"info\": {}, \"results\": []}", "has no results")]
    [TestCase("{\"results\": {\"workload\": \"x\"}}", "\"results\" is not an array")]
    [TestCase("{\"results\": [{\"workload\": \"x\", \"median_ms\": -1}]}", "workload 'x' has no positive median_ms")]
    [TestCase("{\"workload\": \"x\", \"median_ms\": 1.0", "is not the peer's JSON")]
    public void RejectsFilesThatAreNotThePeers(string text, string mentions) =>
        Assert.That(Assert.Throws<ArgumentException>(() => PeerResults.Parse(text, "p.json"))!.Message, Does.Contain("p.json").And.Contain(mentions));
}
