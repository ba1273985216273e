using System.Diagnostics;
using System.Text.Json;
using Kiln.Models;

namespace Kiln.Cli;

/// <summary>
/// `kiln bench fashion-ae-step [--batch B] [--iters N] [--json FILE]`: one training step of the fashion-ae network
/// (forward, MSE loss, backward, Adam lr 1e-3) on random data in [0, 1), recorded once and replayed. Reports the
/// median wall time of a step as a training loop sees it (asynchronous upload of x and target, submit, wait; no
/// profiling) and,
/// from a second, profiled compile, the median (and minimum) GPU timestamp time of every dispatch, summed per label and
/// sorted. On a shared machine the minimum is the steadier figure.
/// </summary>
internal static class FashionStepBench
{
    const int Warmup = 3;

    public static int Run(string[] args)
    {
        int batch = 128, iters = 30;
        string? json = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"bench: {args[i]} needs a value");
            int NextInt()
            {
                string option = args[i], value = Next();
                return int.TryParse(value, out int v) ? v : throw new ArgumentException($"bench fashion-ae-step: {option} takes a whole number, got '{value}'");
            }
            switch (args[i])
            {
                case "--batch": batch = NextInt(); break;
                case "--iters": iters = NextInt(); break;
                case "--json": json = Next(); break;
                default: return CliApp.Fail($"bench fashion-ae-step: unknown option '{args[i]}'");
            }
        }
        if (batch <= 0 || iters <= 0) return CliApp.Fail("bench fashion-ae-step: --batch and --iters must be positive");

        var rng = new Random(0);
        var shape = new Shape(batch, 1, 28, 28);
        float[] Batch() => Enumerable.Range(0, (int)shape.Elements).Select(_ => (float)rng.NextDouble()).ToArray();
        var xs = new[] { Batch(), Batch() };
        var ts = new[] { Batch(), Batch() };

        // Wall time without timestamps: what a training loop pays per step.
        var wall = new List<double>();
        string device;
        using (var context = GpuContext.Create())
        {
            device = context.Info.Name;
            using var step = Compile(context, shape);
            using var list = context.CreateCommandList("fashion-ae-step");
            step.Record(list);
            for (int i = 0; i < iters + Warmup; i++)
            {
                var sw = Stopwatch.StartNew();
                // Uploads queue ahead of the step (queue order), so a step costs one wait.
                step.Inputs["x"].UploadAsync(xs[i % 2]);
                step.Inputs["target"].UploadAsync(ts[i % 2]);
                list.Run();
                sw.Stop();
                if (i >= Warmup) wall.Add(sw.Elapsed.TotalMilliseconds);
            }
        }

        // GPU timestamps around every dispatch, from a profiled context.
        var perLabel = new Dictionary<string, List<double>>();
        var gpuTotal = new List<double>();
        int dispatches = 0;
        using (var context = GpuContext.Create(new ContextOptions { Profiling = true }))
        {
            using var step = Compile(context, shape);
            step.SetInput("x", xs[0]);
            step.SetInput("target", ts[0]);
            using var list = context.CreateCommandList("fashion-ae-step-profiled");
            step.Record(list);
            for (int i = 0; i < iters + Warmup; i++)
            {
                list.Run();
                if (i < Warmup) continue;
                var t = list.Timings();
                dispatches = t.Count;
                gpuTotal.Add(t.Sum(d => d.Milliseconds));
                foreach (var g in t.GroupBy(d => d.Label))
                    (perLabel.TryGetValue(g.Key, out var l) ? l : perLabel[g.Key] = new List<double>()).Add(g.Sum(d => d.Milliseconds));
            }
        }

        var rows = perLabel.Select(kv => (Label: kv.Key, Ms: Median(kv.Value), Min: kv.Value.Min())).OrderByDescending(r => r.Ms).ToList();
        double wallMs = Median(wall), gpuMs = Median(gpuTotal);
        Console.WriteLine($"fashion-ae training step, batch {batch}, on {device}: wall {wallMs:0.##} ms/step (min {wall.Min():0.##}; " +
                          $"upload + replay + wait, median of {iters}); GPU timestamps {gpuMs:0.##} ms (min {gpuTotal.Min():0.##}) over {dispatches} dispatches");
        Console.WriteLine($"  5 epochs of 468 steps at this rate: {wallMs * 468 * 5 / 1000:0.#} s (training steps only)");
        Console.WriteLine($"  {"dispatch",-36} {"median",9}     {"min",9}     share");
        foreach (var (label, ms, min) in rows) Console.WriteLine($"  {label,-36} {ms,9:0.###} ms  {min,9:0.###} ms  {100 * ms / gpuMs,5:0.#}%");
        if (json != null)
        {
            var result = new
            {
                workload = $"fashion_ae_step_b{batch}",
                device,
                step_wall_ms = wallMs,
                step_wall_min_ms = wall.Min(),
                gpu_ms = gpuMs,
                gpu_min_ms = gpuTotal.Min(),
                dispatches,
                iters,
                kernels = rows.Select(r => new { label = r.Label, ms = r.Ms, min_ms = r.Min }).ToArray(),
            };
            File.WriteAllText(json, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }

    static CompiledNetwork Compile(GpuContext context, Shape shape)
    {
        var net = FashionAutoencoder.Build();
        return net.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["target"] = shape },
            Training = true,
            Optimizer = new Adam(),
            LearningRate = 1e-3f,
        });
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count == 0 ? double.NaN : s[s.Count / 2];
    }
}
