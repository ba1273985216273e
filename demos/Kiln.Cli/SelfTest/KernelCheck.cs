using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// The check of one operation: random shapes (with the layer and its CPU reference) on which `kiln selftest`
/// runs whatever kernels the registry picks for the device at hand. Every non-abstract subclass in this assembly
/// is found by reflection: a new operation joins by adding its class; a new kernel variant of an existing
/// operation (a tiled, fp16 or cooperative-matrix kernel registered in engine/Graph/KernelRegistry) is checked
/// without any change here, on the shapes where the registry picks it.
/// </summary>
internal abstract class KernelCheck
{
    /// <summary>Short name shown in the table ("conv2d", "linear", ...).</summary>
    public abstract string Operation { get; }

    /// <summary><paramref name="count"/> random cases (deterministic for a given <paramref name="rng"/> state).</summary>
    public abstract IEnumerable<CheckCase> Cases(Random rng, int count);

    /// <summary>
    /// Checks the operation: by default each of <see cref="Cases"/> alone through <see cref="SelfTestRunner"/> at each
    /// precision, with the kernels the registry picks untuned, and again with the entries that run only where the
    /// compile tunes (IKernelEntry.NeedsTuning, e.g. the GPU's tiled convolution) named, where that changes the kernels;
    /// an operation whose layers don't fit that runner (several parameters: the fused MLP) overrides it.
    /// </summary>
    public virtual IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var tuningOnly = KernelRegistry.All.Where(k => k.NeedsTuning && k.Supports(context.KernelDevice)).Select(k => k.GetType().Name).ToArray();
        foreach (var c in Cases(rng, count))
            foreach (var p in precisions)
            {
                var plain = SelfTestRunner.Run(context, Operation, c, rng, p);
                yield return plain;
                if (tuningOnly.Length == 0) continue;
                var named = SelfTestRunner.Run(context, Operation, c, rng, p, tuningOnly);
                if (named.Kernels != plain.Kernels) yield return named;
            }
    }

    public static IReadOnlyList<KernelCheck> All { get; } = typeof(KernelCheck).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(KernelCheck)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) != null)
        .Select(t => (KernelCheck)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Operation, StringComparer.Ordinal)
        .ToList();

    /// <summary>Row-major index into an [N, C, H, W] tensor.</summary>
    protected static long At(int c, int h, int w, int n, int ci, int y, int x) => (((long)n * c + ci) * h + y) * w + x;
}
