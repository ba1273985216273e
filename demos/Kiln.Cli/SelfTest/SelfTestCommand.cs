using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// `kiln selftest [OPERATION...] [--cases N] [--seed S]`: on the device at hand, every operation of
/// <see cref="KernelCheck.All"/> on N random shapes (plus its benchmark-like one) through the kernels the
/// registry picks there, forward and backward, against double CPU references, at f32 and, where the device can store
/// f16 (shaderFloat16 and 16-bit storage), again at <see cref="Precision.Fp16"/>: f16 activations, and fp16 arithmetic
/// in the kernels that have it (cooperative matrices); a pass/fail table, exit 1 on any failure.
/// </summary>
internal static class SelfTestCommand
{
    public const string Usage = "kiln selftest [OPERATION...] [--cases N] [--seed S]";

    public static int Run(string[] args)
    {
        int cases = 4, seed = 1;
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
                default:
                    if (args[i].StartsWith('-')) return CliApp.Fail($"selftest: unknown option '{args[i]}'\nusage: {Usage}");
                    words.Add(args[i]);
                    break;
            }
        }
        var checks = KernelCheck.All.Where(c => words.Count == 0 || words.Any(w => c.Operation.Contains(w, StringComparison.Ordinal))).ToList();
        if (checks.Count == 0)
            return CliApp.Fail($"selftest: no operation matches {string.Join(" or ", words)}; operations: {string.Join(", ", KernelCheck.All.Select(c => c.Operation))}");

        using var context = GpuContext.Create();
        var precisions = new List<Precision> { Precision.Fp32 };
        if (context.KernelDevice is { ShaderFloat16: true, StorageBuffer16BitAccess: true }) precisions.Add(Precision.Fp16);
        Console.WriteLine($"kiln selftest on {context.Info.Name} ({context.Info.Type}): kernels the registry picks here vs double CPU references; " +
                          string.Join("; ", precisions.Select(p => $"{Name(p)}: max|err|/max|ref| within {SelfTestTolerances.Forward(p):0e0} (forward), {SelfTestTolerances.Gradient(p):0e0} (gradients)")) +
                          $"; seed {seed}");
        Console.WriteLine($"{"operation",-17} {"case",-36} {"prec",4} {"fwd err",9} {"grad err",9} {"result",6}  kernels");
        var results = new List<SelfTestResult>();
        var rng = new Random(seed);
        foreach (var check in checks)
        foreach (var r in check.Run(context, rng, cases, precisions))
        {
            results.Add(r);
            Console.WriteLine($"{r.Operation,-17} {r.Case,-36} {Name(r.Precision),4} {r.ForwardError,9:0.0e0} {r.GradientError,9:0.0e0} {(r.Passed ? "pass" : "FAIL"),6}  " +
                              (r.Error != null ? "error: " + r.Error : r.Kernels));
        }
        int failed = results.Count(r => !r.Passed);
        Console.WriteLine($"{results.Count - failed} of {results.Count} passed");
        return failed == 0 ? 0 : 1;
    }

    static string Name(Precision p) => p == Precision.Fp16 ? "fp16" : "fp32";
}
