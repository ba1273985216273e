namespace Kiln.Cli.Bench;

/// <summary>
/// A row of BENCHMARKS.md: its id (the same as the PyTorch peer's workload name, so results pair up), what it
/// is, and how to build it at either size. <see cref="Bandwidth"/>: a step of passes that only move data, measured in
/// GB/s against the copy bandwidth rather than in TFLOP/s (<see cref="BenchWorkloads.BandwidthBound"/>).
/// </summary>
internal sealed record BenchWorkload(string Id, string What, Func<BenchSize, BenchSetup> Build)
{
    public bool Bandwidth { get; init; }
}
