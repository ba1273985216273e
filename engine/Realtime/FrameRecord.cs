namespace Kiln.Realtime;

/// <summary>
/// What the loop measured for one completed frame: wall milliseconds since the previous frame completed, GPU
/// milliseconds per stage (from timestamps), and the demo's metrics (e.g. "loss", "psnr").
/// </summary>
public sealed record FrameRecord(int Index, double FrameMilliseconds, IReadOnlyDictionary<FrameStage, double> StageMilliseconds, IReadOnlyDictionary<string, double> Metrics);
