using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`--precision fp32|fp16` of `kiln train`, `kiln demo` and `kiln bench`: fp16 runs with f16 activations, a bad value is refused clearly.</summary>
public sealed class PrecisionArgumentTests
{
    [TestCase("train", "fashion-ae")]
    [TestCase("demo", "denoise")]
    [TestCase("bench", "playground")]
    public void AnUnknownPrecision_IsRefusedWithExitCode2(string command, string what)
    {
        var run = CliRun.Run(command, what, "--precision", "fp8");
        Assert.That(run.Code, Is.EqualTo(2), run.Stdout + run.Stderr);
        Assert.That(run.Stderr, Does.Contain($"{command}: --precision takes fp32 or fp16, got 'fp8'"));
    }

    [Test]
    public void DemoAtFp16_RunsAndTrains()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var run = CliRun.Run("demo", "inpaint", "--size", "32x32", "--frames", "2", "--out", dir, "--weights", "none", "--precision", "fp16");
            Assert.That(run.Code, Is.Zero, run.Stderr);
            Assert.That(File.Exists(Path.Combine(dir, "stats.json")));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>--layout pins both networks' activation layout, which stats.json records; the playground (an MLP) refuses it.</summary>
    [Test]
    public void DemoWithLayout_RunsChannelsLast_AndSaysSo()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var run = CliRun.Run("demo", "denoise", "--size", "32x32", "--frames", "2", "--out", dir, "--layout", "nhwc");
            Assert.That(run.Code, Is.Zero, run.Stderr);
            Assert.That(run.Stdout, Does.Contain("activations: Nhwc for inference, Nhwc for training"));
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "stats.json")));
            Assert.That(doc.RootElement.GetProperty("inference_layout").GetString(), Is.EqualTo("nhwc"));
            Assert.That(doc.RootElement.GetProperty("training_layout").GetString(), Is.EqualTo("nhwc"));
        }
        finally { Directory.Delete(dir, true); }
        var playground = CliRun.Run("demo", "playground", "--layout", "nhwc", "--frames", "1");
        Assert.That(playground.Code, Is.EqualTo(2));
        Assert.That(playground.Stderr, Does.Contain("--layout applies to the inpaint and denoise demos only"));
        Assert.That(CliRun.Run("demo", "inpaint", "--layout", "nwhc").Stderr, Does.Contain("demo: --layout takes nchw or nhwc, got 'nwhc'"));
    }

    [Test]
    public void PlaygroundDemo_RefusesPrecision()
    {
        var run = CliRun.Run("demo", "playground", "--precision", "fp16", "--frames", "1");
        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--precision applies to the inpaint and denoise demos only"));
    }
}
