namespace Kiln.Cli.Bench;

/// <summary>
/// A row of BENCHMARKS.md: its id (the same as the PyTorch peer's workload name, so results pair up), what it
/// is, and how to build it at either size.
/// </summary>
internal sealed record BenchWorkload(string Id, string What, Func<BenchSize, BenchSetup> Build);
