using System.Text.Json;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>Frame-time statistics and their JSON, without a GPU.</summary>
public sealed class FrameStatisticsTests
{
    const double Exact = 1e-12;

    static FrameRecord Record(int i, double ms, double scene = 1, double? loss = null) =>
        new(i, ms, new Dictionary<FrameStage, double> { [FrameStage.Scene] = scene, [FrameStage.Network] = 2 * scene },
            loss is { } l ? new Dictionary<string, double> { ["loss"] = l } : new Dictionary<string, double>());

    [Test]
    public void Percentile_InterpolatesBetweenClosestRanks_AsNumpyDoes()
    {
        var values = Enumerable.Range(1, 10).Select(v => (double)v).Reverse().ToList();
        // numpy.percentile(range(1, 11), [0, 50, 95, 99, 100]) = 1, 5.5, 9.55, 9.91, 10
        Assert.That(FrameStatistics.Percentile(values, 0), Is.EqualTo(1).Within(Exact));
        Assert.That(FrameStatistics.Percentile(values, 50), Is.EqualTo(5.5).Within(Exact));
        Assert.That(FrameStatistics.Percentile(values, 95), Is.EqualTo(9.55).Within(Exact));
        Assert.That(FrameStatistics.Percentile(values, 99), Is.EqualTo(9.91).Within(Exact));
        Assert.That(FrameStatistics.Percentile(values, 100), Is.EqualTo(10).Within(Exact));
        Assert.That(FrameStatistics.Percentile(new[] { 7.0 }, 99), Is.EqualTo(7));
    }

    [Test]
    public void Percentile_RejectsNoValuesAndOutOfRangePercents()
    {
        Assert.Throws<ArgumentException>(() => FrameStatistics.Percentile(Array.Empty<double>(), 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameStatistics.Percentile(new[] { 1.0 }, 101));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameStatistics.Percentile(new[] { 1.0 }, double.NaN));
    }

    [Test]
    public void Summary_SkipsWarmupFrames_AndAveragesStages()
    {
        // Frame 0 is a 1000 ms warm-up; then 100 frames of 10..109 ms.
        var records = new List<FrameRecord> { Record(0, 1000, scene: 500) };
        for (int i = 0; i < 100; i++) records.Add(Record(i + 1, 10 + i, scene: 3));
        double wall = records.Sum(r => r.FrameMilliseconds) / 1000;
        var s = new FrameStatistics(records, wall, warmupFrames: 1);
        var steady = Enumerable.Range(0, 100).Select(i => 10.0 + i).ToList();
        Assert.That(s.Frames, Is.EqualTo(101));
        Assert.That(s.Fps, Is.EqualTo(101 / wall).Within(1e-9));
        Assert.That(s.SteadyFps, Is.EqualTo(100 / (steady.Sum() / 1000)).Within(1e-9));
        Assert.That(s.P50FrameMilliseconds, Is.EqualTo(59.5).Within(Exact));
        Assert.That(s.P95FrameMilliseconds, Is.EqualTo(10 + 0.95 * 99).Within(1e-9));
        Assert.That(s.P99FrameMilliseconds, Is.EqualTo(10 + 0.99 * 99).Within(1e-9));
        Assert.That(s.MeanFrameMilliseconds, Is.EqualTo(steady.Average()).Within(1e-9));
        Assert.That(s.MeanStageMilliseconds[FrameStage.Scene], Is.EqualTo(3).Within(Exact));
        Assert.That(s.MeanStageMilliseconds[FrameStage.Network], Is.EqualTo(6).Within(Exact));
        Assert.That(s.MeanStageMilliseconds.ContainsKey(FrameStage.Training), Is.False);
    }

    [Test]
    public void Json_HoldsTheSummaryAndEveryFrame()
    {
        var records = Enumerable.Range(0, 5).Select(i => Record(i, 20 + i, loss: 1.0 / (i + 1))).ToList();
        var s = new FrameStatistics(records, 0.5, warmupFrames: 1);
        using var doc = JsonDocument.Parse(s.ToJson(new Dictionary<string, object> { ["demo"] = "test", ["width"] = 64 }));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("demo").GetString(), Is.EqualTo("test"));
        Assert.That(root.GetProperty("width").GetInt32(), Is.EqualTo(64));
        Assert.That(root.GetProperty("frames").GetInt32(), Is.EqualTo(5));
        Assert.That(root.GetProperty("fps").GetDouble(), Is.EqualTo(10).Within(1e-9));
        Assert.That(root.GetProperty("frame_ms").GetProperty("p50").GetDouble(), Is.EqualTo(s.P50FrameMilliseconds).Within(Exact));
        Assert.That(root.GetProperty("stage_gpu_ms").GetProperty("network").GetDouble(), Is.EqualTo(2).Within(Exact));
        var frames = root.GetProperty("per_frame");
        Assert.That(frames.GetArrayLength(), Is.EqualTo(5));
        Assert.That(frames[4].GetProperty("metrics").GetProperty("loss").GetDouble(), Is.EqualTo(0.2).Within(Exact));
    }

    [Test]
    public void Summary_RejectsNoFramesAndNonPositiveTime()
    {
        Assert.Throws<ArgumentException>(() => new FrameStatistics(Array.Empty<FrameRecord>(), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameStatistics(new[] { Record(0, 1) }, 0));
    }

    [Test]
    public void MeanMetrics_AverageTheFiniteValues_AndAppearInTheJson()
    {
        var records = new[] { Record(0, 10, loss: double.NaN), Record(1, 10, loss: 2), Record(2, 10, loss: 4), Record(3, 10) };
        var stats = new FrameStatistics(records, 1.0);
        Assert.That(stats.MeanMetrics["loss"], Is.EqualTo(3).Within(Exact), "the NaN of frame 0 is left out, frame 3 has none");
        using var doc = JsonDocument.Parse(stats.ToJson());
        Assert.That(doc.RootElement.GetProperty("metrics_mean").GetProperty("loss").GetDouble(), Is.EqualTo(3).Within(Exact));
    }
}
