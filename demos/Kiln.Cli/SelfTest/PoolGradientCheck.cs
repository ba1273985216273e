using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// A convolution, its activation and a 2x2 max pool read by another convolution alone, trained with the graph's fusions:
/// the first convolution's kernel takes the pool (".pool.keep": the activation's output is named, so it is written too)
/// and, where the input gradient runs on a forward kernel with the ".unpool" variant (Kiln.Layers.PoolGradient: the flipped
/// input gradient, GPUs; the direct, Winograd, tensor-core patch and cooperative_matrix2 kernels, storage-buffer reads),
/// the second's input gradient writes the pool's input gradient through the activation's derivative, and neither the pool
/// nor the activation has a backward pass of its own; elsewhere they run (the kernels column says which). Checked as
/// <see cref="ActivationGradientCheck"/> checks, the reference's pool taking each window's maximum where the named
/// activation output has it (at f16 a double reference would pick another element wherever two round together).
/// </summary>
internal sealed class PoolGradientCheck : KernelCheck
{
    public const string Name = "conv_pool_grad";
    public override string Operation => Name;

    /// <summary>Unused: the case has two convolutions' parameters, so <see cref="Run"/> builds and checks its own network.</summary>
    public override IEnumerable<CheckCase> Cases(Random rng, int count) => Enumerable.Empty<CheckCase>();

    /// <summary>A case the GPU's tensor-core tiles take and, where <paramref name="count"/> allows, one small random one
    /// (even sizes, odd channel counts), each untuned and in each round of named entries.</summary>
    public override IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var shapes = new List<(int N, int Cin, int C, int H, int W, Activation Act)> { (1, 8, 32, 16, 32, Activation.Tanh) };
        for (int i = 1; i < Math.Min(count, 2); i++)
            shapes.Add((rng.Next(1, 3), rng.Next(1, 9), rng.Next(1, 25), 2 * rng.Next(1, 7), 2 * rng.Next(1, 7), rng.Next(2) == 0 ? Activation.Tanh : Activation.Sigmoid));
        return ActivationGradientCheck.RunRounds(context, shapes, precisions, rng, pool: true);
    }
}
