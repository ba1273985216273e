using System.Diagnostics;
using System.Globalization;
using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// `kiln selftest [OPERATION...] [--cases N] [--seed S] [--budget SECONDS]`: on the device at hand, every operation of
/// <see cref="KernelCheck.All"/> on N random shapes (plus its benchmark-like one) through the kernels the
/// registry picks there, forward and backward, against double CPU references, at f32 and, where the device can store
/// f16 (shaderFloat16 and 16-bit storage), again at <see cref="Precision.Fp16"/>: f16 activations, and fp16 arithmetic
/// in the kernels that have it (cooperative matrices); a pass/fail table, exit 1 on any failure. With --budget it takes a
/// case of each operation in turn and starts none once that many seconds have gone (a GPU's first run compiles every
/// pipeline, hundreds of them; on the H200, 85 s reached only the first two operations in order): the last line
/// still counts what ran and names what did not, and the exit code is 3 where nothing failed but not everything ran (2 is a usage error).
/// </summary>
internal static class SelfTestCommand
{
    public const string Usage = "kiln selftest [OPERATION...] [--cases N] [--seed S] [--budget SECONDS]";

    public static int Run(string[] args)
    {
        int cases = 4, seed = 1;
        double? budget = null;
        var words = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"selftest: {args[i]} needs a value\nusage: {Usage}");
            switch (args[i])
            {
                case "--cases":
                    if (!int.TryParse(Next(), out cases) || cases < 1) return CliApp.Fail($"selftest: --cases takes a positive whole number, got '{args[i]}'");
                    break;
                case "--seed":
                    if (!int.TryParse(Next(), out seed)) return CliApp.Fail($"selftest: --seed takes a whole number, got '{args[i]}'");
                    break;
                case "--budget":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || !double.IsFinite(seconds))
                        return CliApp.Fail($"selftest: --budget takes a positive number of seconds, got '{args[i]}'");
                    budget = seconds;
                    break;
                default:
                    if (args[i].StartsWith('-')) return CliApp.Fail($"selftest: unknown option '{args[i]}'\nusage: {Usage}");
                    words.Add(args[i]);
                    break;
            }
        }
        var checks = KernelCheck.All.Where(c => words.Count == 0 || words.Any(w => c.Operation.Contains(w, StringComparison.Ordinal))).ToList();
        if (checks.Count == 0)
            return CliApp.Fail($"selftest: no operation matches {string.Join(" or ", words)}; operations: {string.Join(", ", KernelCheck.All.Select(c => c.Operation))}");

        var clock = Stopwatch.StartNew();
        using var context = GpuContext.Create();
        var precisions = new List<Precision> { Precision.Fp32 };
        if (context.KernelDevice is { ShaderFloat16: true, StorageBuffer16BitAccess: true }) precisions.Add(Precision.Fp16);
        Console.WriteLine($"kiln selftest on {context.Info.Name} ({context.Info.Type}): kernels the registry picks here vs double CPU references; " +
                          string.Join("; ", precisions.Select(p => $"{Name(p)}: max|err|/max|ref| within {SelfTestTolerances.Forward(p):0e0} (forward), {SelfTestTolerances.Gradient(p):0e0} (gradients)")) +
                          $"; seed {seed}");
        Console.WriteLine($"{"operation",-17} {"case",-36} {"prec",4} {"fwd err",9} {"grad err",9} {"result",6}  kernels");
        var results = new List<SelfTestResult>();
        // Each operation draws its cases from a generator of its own (the seed and its place in the list), so a seed gives
        // the same cases whatever runs beside them and in whatever order.
        var runs = checks.Select((c, i) => (c.Operation, Cases: c.Run(context, new Random(seed + 7919 * i), cases, precisions).GetEnumerator())).ToList();
        // Operation by operation; under --budget a case of each in turn, so a budget that runs out leaves every operation
        // checked on its first cases (a GPU's first run spends it compiling pipelines) rather than the last ones unchecked.
        var active = Enumerable.Range(0, runs.Count).ToList();
        bool stopped = false;
        try
        {
            while (active.Count > 0 && !stopped)
                foreach (int i in (budget == null ? active.Take(1) : active).ToList())
                {
                    // Each step of an enumerator compiles and runs one case: the budget is looked at before it starts.
                    if (clock.Elapsed.TotalSeconds >= budget) { stopped = true; break; }
                    if (!runs[i].Cases.MoveNext()) { active.Remove(i); continue; }
                    var r = runs[i].Cases.Current;
                    results.Add(r);
                    Console.WriteLine($"{r.Operation,-17} {r.Case,-36} {Name(r.Precision),4} {r.ForwardError,9:0.0e0} {r.GradientError,9:0.0e0} {(r.Passed ? "pass" : "FAIL"),6}  " +
                                      (r.Error != null ? "error: " + r.Error : r.Kernels));
                }
        }
        finally
        {
            foreach (var run in runs) run.Cases.Dispose();
        }
        // The operations --budget stopped: those with cases left (part of them may have run).
        var notRun = stopped ? active.Select(i => runs[i].Operation).ToList() : new List<string>();
        int failed = results.Count(r => !r.Passed);
        Console.WriteLine($"{results.Count - failed} of {results.Count} passed" + (notRun.Count == 0 ? ""
            : $"; --budget {budget:0.#} s spent after {clock.Elapsed.TotalSeconds:0} s, not checked (or not all of it): {string.Join(", ", notRun)}"));
        return failed > 0 ? 1 : notRun.Count > 0 ? 3 : 0;
    }

    static string Name(Precision p) => p == Precision.Fp16 ? "fp16" : "fp32";
}
