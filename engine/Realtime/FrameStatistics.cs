using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kiln.Realtime;

/// <summary>
/// A run's summary: frames per second, frame-time percentiles, mean GPU milliseconds per stage, and every frame's
/// record (losses and PSNR over time), written as JSON by <see cref="ToJson"/>.
/// </summary>
public sealed class FrameStatistics
{
    /// <summary>Frames measured.</summary>
    public int Frames { get; }
    /// <summary>Frames per second over the whole run (first frames, with pipeline creation, included).</summary>
    public double Fps { get; }
    /// <summary>Frames per second after the first <see cref="WarmupFrames"/> frames.</summary>
    public double SteadyFps { get; }
    /// <summary>Frames left out of <see cref="SteadyFps"/> and the percentiles (the first frames create pipelines).</summary>
    public int WarmupFrames { get; }
    public double MeanFrameMilliseconds { get; }
    public double P50FrameMilliseconds { get; }
    public double P95FrameMilliseconds { get; }
    public double P99FrameMilliseconds { get; }
    /// <summary>Mean GPU milliseconds of each stage over the steady frames (stages a demo does not use are absent).</summary>
    public IReadOnlyDictionary<FrameStage, double> MeanStageMilliseconds { get; }
    public IReadOnlyList<FrameRecord> Records { get; }
    /// <summary>Mean of each metric over all frames where it is finite (e.g. loss, PSNR, flicker), by name.</summary>
    public IReadOnlyDictionary<string, double> MeanMetrics { get; }

    /// <summary>Summarises <paramref name="records"/> (in frame order) of a run that took <paramref name="wallSeconds"/>.</summary>
    public FrameStatistics(IReadOnlyList<FrameRecord> records, double wallSeconds, int warmupFrames = 1)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) throw new ArgumentException("No frames to summarise.", nameof(records));
        if (!(wallSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(wallSeconds), wallSeconds, "The run's wall time must be positive.");
        Records = records;
        Frames = records.Count;
        Fps = Frames / wallSeconds;
        WarmupFrames = Math.Clamp(warmupFrames, 0, Frames - 1);
        var steady = records.Skip(WarmupFrames).ToList();
        var times = steady.Select(r => r.FrameMilliseconds).ToList();
        double steadySeconds = times.Sum() / 1000;
        SteadyFps = steadySeconds > 0 ? steady.Count / steadySeconds : Fps;
        MeanFrameMilliseconds = times.Average();
        P50FrameMilliseconds = Percentile(times, 50);
        P95FrameMilliseconds = Percentile(times, 95);
        P99FrameMilliseconds = Percentile(times, 99);
        MeanStageMilliseconds = steady.SelectMany(r => r.StageMilliseconds).GroupBy(kv => kv.Key)
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value) / steady.Count);
        MeanMetrics = records.SelectMany(r => r.Metrics).Where(kv => double.IsFinite(kv.Value)).GroupBy(kv => kv.Key)
            .ToDictionary(g => g.Key, g => g.Average(kv => kv.Value));
    }

    /// <summary>
    /// The <paramref name="percent"/>-th percentile with linear interpolation between closest ranks (numpy's
    /// default): rank (n - 1) * p / 100 of the sorted values.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> values, double percent)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("The percentile of no values is undefined.", nameof(values));
        if (!(percent >= 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "A percentile is in [0, 100].");
        var sorted = values.OrderBy(v => v).ToArray();
        double rank = (sorted.Length - 1) * percent / 100;
        int lo = (int)Math.Floor(rank), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    static string StageName(FrameStage s) => s.ToString().ToLowerInvariant();

    /// <summary>The summary and per-frame records as JSON; <paramref name="info"/> adds fields (demo, device, size).</summary>
    public string ToJson(IReadOnlyDictionary<string, object>? info = null)
    {
        var root = new JsonObject();
        if (info != null)
            foreach (var (k, v) in info)
                root[k] = v switch
                {
                    string s => JsonValue.Create(s),
                    int i => JsonValue.Create(i),
                    long l => JsonValue.Create(l),
                    double d => JsonValue.Create(d),
                    bool b => JsonValue.Create(b),
                    _ => JsonValue.Create(v.ToString()),
                };
        root["frames"] = Frames;
        root["fps"] = Fps;
        root["steady_fps"] = SteadyFps;
        root["warmup_frames"] = WarmupFrames;
        root["frame_ms"] = new JsonObject
        {
            ["mean"] = MeanFrameMilliseconds,
            ["p50"] = P50FrameMilliseconds,
            ["p95"] = P95FrameMilliseconds,
            ["p99"] = P99FrameMilliseconds,
        };
        var stages = new JsonObject();
        foreach (var (s, ms) in MeanStageMilliseconds.OrderBy(kv => kv.Key)) stages[StageName(s)] = ms;
        root["stage_gpu_ms"] = stages;
        var means = new JsonObject();
        foreach (var (k, v) in MeanMetrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) means[k] = v;
        root["metrics_mean"] = means;
        var frames = new JsonArray();
        foreach (var r in Records)
        {
            var st = new JsonObject();
            foreach (var (s, ms) in r.StageMilliseconds.OrderBy(kv => kv.Key)) st[StageName(s)] = ms;
            var m = new JsonObject();
            foreach (var (k, v) in r.Metrics) m[k] = double.IsFinite(v) ? v : null;
            frames.Add(new JsonObject { ["index"] = r.Index, ["frame_ms"] = r.FrameMilliseconds, ["stage_gpu_ms"] = st, ["metrics"] = m });
        }
        root["per_frame"] = frames;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
