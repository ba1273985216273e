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
    /// precision, with the kernels the registry picks untuned, and again with the entries the device runs that the registry
    /// picks there only when named (<see cref="NamedOnlyRounds"/>), where that changes the kernels; an operation whose
    /// layers don't fit that runner (several parameters: the fused MLP) overrides it. A layer with a channels-last forward
    /// is checked once more in each round with NHWC activations, its gradients too (through the NHWC kernels where it has
    /// them), where that runs an NHWC kernel.
    /// </summary>
    public virtual IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var (alone, fused) = (NamedOnlyRounds(context.KernelDevice), NamedOnlyRounds(context.KernelDevice, fusedOnly: true));
        foreach (var c in Cases(rng, count))
        {
            var rounds = c.Fused ? fused : alone;
            bool nhwc = ForwardsNhwc(c);
            // Every round's pipelines at once, side by side (a GPU's first run is mostly its driver compiling them).
            var layouts = nhwc ? new[] { TensorLayout.Nchw, TensorLayout.Nhwc } : new[] { TensorLayout.Nchw };
            SelfTestRunner.Prewarm(context, c, precisions.SelectMany(p => layouts.SelectMany(l => rounds.Prepend<string[]?>(null).Select(r => (p, r, l)))));
            foreach (var p in precisions)
            {
                var plain = SelfTestRunner.Run(context, Operation, c, rng, p);
                yield return plain;
                var seen = new HashSet<string> { plain.Kernels };
                foreach (var named in rounds)
                {
                    var result = SelfTestRunner.Run(context, Operation, c, rng, p, named);
                    if (seen.Add(result.Kernels)) yield return result;
                }
                if (!nhwc) continue;
                foreach (var named in rounds.Prepend(Array.Empty<string>()))
                {
                    var result = SelfTestRunner.Run(context, Operation, c, rng, p, named, TensorLayout.Nhwc);
                    if ((result.Error != null || result.Kernels.Contains(".nhwc", StringComparison.Ordinal)) && seen.Add(result.Kernels)) yield return result;
                }
            }
        }
    }

    /// <summary>Whether the case's layers (those before and after it too) forward channels-last for its shapes.</summary>
    static bool ForwardsNhwc(CheckCase c)
    {
        var input = c.Before?.OutputShape(new[] { c.Input }) ?? c.Input;
        var inputs = (c.Others ?? Array.Empty<Shape>()).Prepend(input).ToList();
        return c.ChannelsLast && input.Rank == 4 && (c.Before?.ForwardsNhwc(new[] { c.Input }) ?? true) && c.Layer.ForwardsNhwc(inputs)
            && (c.After?.ForwardsNhwc(new[] { c.Layer.OutputShape(inputs.ToArray()) }) ?? true);
    }

    /// <summary>
    /// The entries <paramref name="device"/> runs that an untuned compile there takes only when they are named: those that
    /// need tuning (IKernelEntry.NeedsTuning, e.g. the GPU's tiled and Winograd convolutions) and those not preferred on the
    /// device (IKernelEntry.PreferredOn: the GPU's kernels on lavapipe, cooperative-matrix ones included where it has them),
    /// but not those that run only inside a fusion (IKernelEntry.FusedOnly), which a layer alone never takes, unless
    /// <paramref name="fusedOnly"/> (for cases compiled with fusions, <see cref="CheckCase.Fused"/>); in rounds:
    /// round r names each operation's r-th such entry by priority (its last where it has fewer), so that an entry
    /// outranked by another of its operation is checked too, with entries of the other operations beside it.
    /// </summary>
    public static IReadOnlyList<string[]> NamedOnlyRounds(DeviceInfo device, bool fusedOnly = false)
    {
        var byOperation = KernelRegistry.All
            .Where(k => k.Supports(device) && (k.NeedsTuning || !k.PreferredOn(device)) && (fusedOnly || !k.FusedOnly))
            .GroupBy(k => k.Operation)
            .Select(g => g.OrderByDescending(k => k.Priority).Select(k => k.GetType().Name).ToList())
            .ToList();
        int rounds = byOperation.Count == 0 ? 0 : byOperation.Max(g => g.Count);
        return Enumerable.Range(0, rounds).Select(r => byOperation.Select(g => g[Math.Min(r, g.Count - 1)]).ToArray()).ToList();
    }

    public static IReadOnlyList<KernelCheck> All { get; } = typeof(KernelCheck).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(KernelCheck)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) != null)
        .Select(t => (KernelCheck)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Operation, StringComparer.Ordinal)
        .ToList();

    /// <summary>Row-major index into an [N, C, H, W] tensor.</summary>
    protected static long At(int c, int h, int w, int n, int ci, int y, int x) => (((long)n * c + ci) * h + y) * w + x;
}
