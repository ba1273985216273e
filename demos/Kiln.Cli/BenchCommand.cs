using System.Diagnostics;
using System.Text.Json;

namespace Kiln.Cli;

/// <summary>
/// `kiln bench conv3x3 [--channels C] [--size S] [--iters N] [--json FILE]`: one 3x3 convolution (pad 1, bias),
/// forward and backward (input and weight gradients), timed by GPU timestamps around each dispatch; the median
/// over N calls after warm-up; the backward starts from a given output gradient and updates nothing. `kiln bench
/// fashion-ae-step` is <see cref="FashionStepBench"/>. The workloads of BENCHMARKS.md are <see cref="Bench.BenchSuite"/>'s.
/// </summary>
internal static class BenchCommand
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "fashion-ae-step") return FashionStepBench.Run(args[1..]);
        if (args.Length == 0 || args[0] != "conv3x3")
            return CliApp.Fail("bench: workloads: kiln bench conv3x3 [--channels C] [--size S] [--iters N] [--json FILE], kiln bench fashion-ae-step [--batch B] [--iters N] [--json FILE]");
        int channels = 64, size = 64, iters = 20;
        string? json = null;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"bench: {args[i]} needs a value");
            switch (args[i])
            {
                case "--channels": channels = int.Parse(Next()); break;
                case "--size": size = int.Parse(Next()); break;
                case "--iters": iters = int.Parse(Next()); break;
                case "--json": json = Next(); break;
                default: return CliApp.Fail($"bench: unknown option '{args[i]}'");
            }
        }
        using var context = GpuContext.Create(new ContextOptions { Profiling = true });
        var net = new Network();
        var x = net.Input("x");
        var y = net.Add(new Conv2d(channels, channels, 3, padding: 1), "conv", x);
        net.Output(y);
        net.SetOutputGradient(y, net.Input("grad_y"));
        var shape = new Shape(1, channels, size, size);
        using var compiled = net.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["grad_y"] = shape },
            Training = true,
            UpdateParameters = false,
            InputGradients = true,
            InputGradientNames = new[] { "x" },
        });
        var rng = new Random(0);
        compiled.SetInput("x", Enumerable.Range(0, (int)shape.Elements).Select(_ => (float)rng.NextDouble()).ToArray());
        compiled.SetInput("grad_y", Enumerable.Range(0, (int)shape.Elements).Select(_ => (float)rng.NextDouble()).ToArray());

        using var list = context.CreateCommandList("bench");
        compiled.Record(list);
        var fwd = new List<double>();
        var bwd = new List<double>();
        var wall = new List<double>();
        var perDispatch = new Dictionary<string, List<double>>();
        for (int i = 0; i < iters + 3; i++)
        {
            var sw = Stopwatch.StartNew();
            list.Run();
            sw.Stop();
            var t = list.Timings();
            if (i < 3) continue;
            wall.Add(sw.Elapsed.TotalMilliseconds);
            foreach (var d in t) (perDispatch.TryGetValue(d.Label, out var l) ? l : perDispatch[d.Label] = new List<double>()).Add(d.Milliseconds);
            fwd.Add(t.Where(d => d.Label == "conv.fwd").Sum(d => d.Milliseconds));
            bwd.Add(t.Where(d => d.Label.StartsWith("conv.bwd")).Sum(d => d.Milliseconds));
        }
        double flops = 2.0 * channels * channels * 9 * size * size;
        double fwdMs = Median(fwd), bwdMs = Median(bwd);
        var result = new
        {
            workload = $"conv3x3_c{channels}_{size}",
            device = context.Info.Name,
            fwd_ms = fwdMs,
            fwd_gflops = flops / (fwdMs * 1e6),
            bwd_ms = bwdMs,
            bwd_gflops = 2 * flops / (bwdMs * 1e6),
            step_wall_ms = Median(wall),
            iters,
        };
        Console.WriteLine($"{result.workload} on {result.device}: fwd {fwdMs:0.###} ms ({result.fwd_gflops:0.##} GFLOP/s), " +
                          $"bwd (input + weight + bias gradients) {bwdMs:0.###} ms ({result.bwd_gflops:0.##} GFLOP/s); median of {iters}, GPU timestamps");
        foreach (var (label, times) in perDispatch) Console.WriteLine($"  {label,-28} {Median(times),10:0.###} ms");
        if (json != null) File.WriteAllText(json, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count == 0 ? double.NaN : s[s.Count / 2];
    }
}
