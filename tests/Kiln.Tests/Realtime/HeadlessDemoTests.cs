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
            {
                // Metrics between consecutive frames start at the second frame.
                if (m.StartsWith("flicker") && f.GetProperty("index").GetInt32() == 0) continue;
                Assert.That(double.IsFinite(f.GetProperty("metrics").GetProperty(m).GetDouble()), Is.True, m);
            }
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
        const int w = 16, h = 16;
        using var demo = new DenoisingDemo(Context, w, h, referenceSamples: 16);
        RunHeadless(demo, 2, Stages, new[] { "loss", "psnr_noisy", "psnr_denoised", "flicker_denoised", "flicker_reference" });

        // The metrics, recomputed from the PNGs: PSNR of a panel against the reference panel, change since the last frame.
        var (f0, _, _) = ImageFile.Load(Path.Combine(dir, "frame_00000.png"));
        var (f1, _, _) = ImageFile.Load(Path.Combine(dir, "frame_00001.png"));
        int width = 3 * w, plane = width * h;
        double Value(float[] f, int c, int y, int x) => Math.Round(f[c * plane + y * width + x] * 255);
        IEnumerable<(int C, int Y, int X)> Pixels() =>
            from c in Enumerable.Range(0, 3) from y in Enumerable.Range(0, h) from x in Enumerable.Range(0, w) select (c, y, x);
        double mse = Pixels().Average(p => Math.Pow(Value(f1, p.C, p.Y, p.X) - Value(f1, p.C, p.Y, 2 * w + p.X), 2));
        double psnr = 10 * Math.Log10(255.0 * 255.0 / mse);
        double flicker = Pixels().Average(p => Math.Abs(Value(f1, p.C, p.Y, w + p.X) - Value(f0, p.C, p.Y, w + p.X))) / 255;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "stats.json")));
        var m = doc.RootElement.GetProperty("per_frame")[1].GetProperty("metrics");
        Assert.That(m.GetProperty("psnr_noisy").GetDouble(), Is.EqualTo(psnr).Within(MetricAgreement));
        Assert.That(m.GetProperty("flicker_denoised").GetDouble(), Is.EqualTo(flicker).Within(MetricAgreement));
    }

    /// <summary>The same 8-bit values give the same metric up to double rounding.</summary>
    const double MetricAgreement = 1e-9;

    [Test]
    public void Playground_WritesFramesAndStats()
    {
        using var demo = new PlaygroundDemo(Context, 32, 32, pointCount: 50);
        RunHeadless(demo, 3, new[] { "training", "network", "composite" }, new[] { "loss" });
    }
}
