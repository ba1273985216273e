using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The weight gradient as a tiled implicit GEMM (shaders/conv2d/conv2d.bwd_weight_tiled.comp), for GPUs:
/// dW [C1G x C2G*KH*KW per group] = A [C1G x K] * im2col B [C2G*KH*KW x K] over the K = N*AH*AW pixels. Workgroups of
/// 256 invocations compute 16*TM x 16*TN tiles (TM, TN = 4, 2 or 1 as the matrix allows) from shared-memory K slices of
/// 32 pixels loaded coalesced; K is split over enough workgroups to fill the GPU, and reduce/partials adds the
/// partial tiles in split order (deterministic, no atomics).
/// </summary>
internal class Conv2dWeightGradTiled : IConv2dWeightGrad
{
    const uint Local = 256;
    /// <summary>Pixels per K step (BK in the shader).</summary>
    internal const int StepPixels = 32;
    /// <summary>Workgroups worth splitting K for (about 8 per SM of a 132-SM GPU).</summary>
    internal const long TargetWorkgroups = 1024;
    /// <summary>The fewest K steps a split takes (256 pixels), so each workgroup's loads outweigh its partial tile's write.</summary>
    internal const int MinStepsPerSplit = 8;
    /// <summary>The most partial values a split may allocate (128 MiB of fp32).</summary>
    const long MaxPartialValues = 32L << 20;

    public string Operation => "conv2d.bwd_weight";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    /// <summary>Shared memory the shader declares: two 64 x (32 + 4) float tiles.</summary>
    const uint SharedBytes = 2 * 64 * (StepPixels + 4) * 4;
    public bool Supports(DeviceInfo device) => device.MaxSharedMemoryBytes >= SharedBytes;
    /// <summary>On a CPU device (lavapipe) the serial kernel is faster; there this one runs only when preferred by name.</summary>
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public virtual bool ReadsConcat => true;

    /// <summary>Tile shape (rows and columns per invocation), workgroup grid, and split of K for one layer.</summary>
    internal sealed record TilePlan(int TM, int TN, uint GroupsX, uint GroupsY, uint GroupsZ, int Splits, int PixelsPerSplit);

    /// <summary>The tiles and split for a weight gradient of c1G x nG per group over k pixels.</summary>
    internal static TilePlan Plan(int groups, int c1G, int nG, long k)
    {
        static int PerInvocation(int size) => size <= 16 ? 1 : size <= 32 ? 2 : 4;
        int tm = PerInvocation(c1G), tn = PerInvocation(nG);
        uint gx = (uint)((nG + 16 * tn - 1) / (16 * tn)), gy = (uint)((c1G + 16 * tm - 1) / (16 * tm));
        if (groups > 65535) throw new InvalidOperationException($"conv2d.bwd_weight: {groups} groups exceed the 65535 workgroups of a dispatch's z.");
        if (k > int.MaxValue) throw new InvalidOperationException($"conv2d.bwd_weight: {k} pixels overflow the kernel's 32-bit indices.");
        var (splits, stepsPerSplit) = Splits((long)gx * gy * groups, k, StepPixels, (long)groups * c1G * nG, groups);
        return new TilePlan(tm, tn, gx, gy, (uint)(groups * splits), splits, stepsPerSplit * StepPixels);
    }

    /// <summary>
    /// How a weight-gradient GEMM of <paramref name="tiles"/> workgroup tiles splits its <paramref name="k"/> pixels
    /// (steps of <paramref name="stepPixels"/>) to fill the GPU (<see cref="TargetWorkgroups"/>): each split at least
    /// <see cref="MinStepsPerSplit"/> steps, fewer splits than the 65535 z workgroups allow (<paramref name="groups"/> per
    /// split), and no more partial values (<paramref name="count"/> per split) than 128 MiB of fp32 hold.
    /// </summary>
    internal static (int Splits, int StepsPerSplit) Splits(long tiles, long k, int stepPixels, long count, int groups)
    {
        int steps = (int)((k + stepPixels - 1) / stepPixels);
        int maxSplits = (int)Math.Max(1, Math.Min(65535 / groups, MaxPartialValues / count));
        int minSteps = Math.Max(MinStepsPerSplit, (steps + maxSplits - 1) / maxSplits);
        return PartialSums.Plan(tiles, steps, TargetWorkgroups, minSteps);
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int c1G = c1 / a.Groups, nG = c2 / a.Groups * a.Kernel.H * a.Kernel.W;
        var plan = Plan(a.Groups, c1G, nG, (long)n * ah * aw);
        var constants = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
            (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)a.Groups,
            (uint)c1, (uint)c2, (uint)ah, (uint)aw, (uint)qh, (uint)qw,
            (uint)plan.TM, (uint)plan.TN, plan.Splits > 1 ? (uint)plan.PixelsPerSplit : 0u,
        };
        var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.bwd_weight_tiled", plain.Layout), KernelSpec.Buffers(3), 28, constants, Local);
        return new[]
        {
            new TuneCandidate($"tiled{plan.TM}x{plan.TN}", spec, (plan.GroupsX, plan.GroupsY, plan.GroupsZ), PushConstants.Ints(n, c1, c2, ah, aw, qh, qw))
            {
                Finish = plan.Splits > 1 ? PartialSums.Finish(e, plan.Splits, dw.Shape.Elements) : null,
            },
        };
    }
}

/// <summary>
/// <see cref="Conv2dWeightGradTiled"/> over channels-last dY and x (conv2d.bwd_weight_tiled.nhwc, with its .bias form: the
/// same products summed in the same order): an NHWC plan's f32 weight gradient on a GPU, timed against the Winograd
/// one's. No .concat form: a decoder's channels-last weight gradient reads its written concatenation or goes by
/// sub-pixel phase.
/// </summary>
internal sealed class Conv2dWeightGradTiledNhwc : Conv2dWeightGradTiled
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    public override bool ReadsConcat => false;
}
