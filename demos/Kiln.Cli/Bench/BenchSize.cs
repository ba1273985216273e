namespace Kiln.Cli.Bench;

/// <summary>Which shapes a benchmark run uses: BENCHMARKS.md's, or reduced ones that finish in seconds on lavapipe.</summary>
internal enum BenchSize
{
    Full,
    Small,
}
