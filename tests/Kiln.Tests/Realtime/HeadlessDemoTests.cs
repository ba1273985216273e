using System.Text.Json;
using Kiln.IO;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>Short headless runs of the demos: PNG frames and a stats JSON that says what happened.</summary>
public sealed class HeadlessDemoTests : GpuTest
{
    string dir = "";

    [SetUp]
    public void MakeFolder() => dir = Path.Combine(Path.GetTempPath(), "kiln-realtime-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    static readonly string[] Stages = { "scene", "training", "network", "composite" };

    void RunHeadless(RealtimeDemo demo, int frames, string[] stages, string[] metrics)
    {
        var presenter = new HeadlessPresenter(dir);
        using (var loop = new FrameLoop(demo))
        {
            var stats = loop.Run(frames, presenter.Present);
            presenter.WriteStatistics(stats, new Dictionary<string, object> { ["demo"] = demo.Name });
        }
        Assert.That(presenter.Written, Has.Count.EqualTo(frames));
        foreach (var png in presenter.Written)
        {
            Assert.That(ImageFile.Identify(png), Is.EqualTo((demo.Height, demo.Width)));
            var (chw, _, _) = ImageFile.Load(png);
            Assert.That(chw.Distinct().Count(), Is.GreaterThan(16), $"{png} shows an image, not a flat colour");
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "stats.json")));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("demo").GetString(), Is.EqualTo(demo.Name));
        Assert.That(root.GetProperty("frames").GetInt32(), Is.EqualTo(frames));
        Assert.That(root.GetProperty("fps").GetDouble(), Is.GreaterThan(0));
        var ms = root.GetProperty("frame_ms");
        Assert.That(ms.GetProperty("p50").GetDouble(), Is.LessThanOrEqualTo(ms.GetProperty("p95").GetDouble()));
        Assert.That(ms.GetProperty("p95").GetDouble(), Is.LessThanOrEqualTo(ms.GetProperty("p99").GetDouble()));
        var stageMs = root.GetProperty("stage_gpu_ms");
        Assert.That(stageMs.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(stages));
        var perFrame = root.GetProperty("per_frame");
        Assert.That(perFrame.GetArrayLength(), Is.EqualTo(frames));
        foreach (var f in perFrame.EnumerateArray())
            foreach (var m in metrics)
                Assert.That(double.IsFinite(f.GetProperty("metrics").GetProperty(m).GetDouble()), Is.True, m);
    }

    [Test]
    public void Inpainting_WritesFramesAndStats()
    {
        using var demo = new InpaintingDemo(Context, 32, 32, channels: new[] { 4, 8 });
        RunHeadless(demo, 3, Stages, new[] { "loss" });
    }

    [Test]
    public void Denoising_WritesFramesAndStats_WithPsnr()
    {
        using var demo = new DenoisingDemo(Context, 16, 16, referenceSamples: 16);
        RunHeadless(demo, 2, Stages, new[] { "loss", "psnr_noisy", "psnr_denoised" });
    }

    [Test]
    public void Playground_WritesFramesAndStats()
    {
        using var demo = new PlaygroundDemo(Context, 32, 32, pointCount: 50);
        RunHeadless(demo, 3, new[] { "training", "network", "composite" }, new[] { "loss" });
    }
}
