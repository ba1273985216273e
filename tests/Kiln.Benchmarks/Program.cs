using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Kiln.Benchmarks -- --filter '*'        (all; BenchmarkDotNet's own options apply)
// dotnet run -c Release --project tests/Kiln.Benchmarks -- --filter '*Plan*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Kiln.Benchmarks.GraphCompileBenchmarks).Assembly).Run(args);
