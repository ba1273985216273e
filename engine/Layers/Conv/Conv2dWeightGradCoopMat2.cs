using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The weight gradient as an implicit GEMM on VK_NV_cooperative_matrix2 matrices
/// (shaders/conv2d/conv2d.bwd_weight_coopmat2.comp: fp16 operands, f32 accumulation) under <see cref="Precision.Fp16"/>:
/// dW [C1 x C2*KH*KW] = A [C1 x K] * B [K x C2*KH*KW] over the K = N*AH*AW pixels, each workgroup's tile ONE
/// workgroup-scope accumulator, both operands gathered into shared memory a step ahead, K split over workgroups to fill
/// the GPU as the other weight gradients' (<see cref="Conv2dWeightGradTiled.Splits"/>) and the partial tiles added in
/// split order by reduce/partials. Groups of 1, at least 16 rows (C1).
/// Like <see cref="Conv2dCoopMat2"/> it needs tuning (only CompileOptions.Autotune runs it, each shape checked against the
/// plain f32 kernel by the tuner), runs as its .subgroup form on devices without workgroup scope (lavapipe of Mesa 26,
/// when named: the tests), and its workgroup-scope form has not run on a GPU yet.
/// </summary>
internal sealed class Conv2dWeightGradCoopMat2 : CooperativeMatrixEntry, IConv2dWeightGrad
{
    public string Operation => "conv2d.bwd_weight";
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 9;
    public bool NeedsTuning => true;

    const string Module = "conv2d/conv2d.bwd_weight_coopmat2";
    /// <summary>The shader's A_MAX and B_MAX: staged values of A and B per invocation, at most.</summary>
    const int AMax = 32, BMax = 64;

    /// <summary>Workgroup-scope tiles (rows x columns x pixels per step, invocations).</summary>
    static readonly Conv2dCoopMat2.Tile[] WorkgroupTiles =
    {
        new(64, 64, 32, 128), new(32, 128, 32, 128), new(64, 64, 32, 256), new(32, 64, 32, 128),
    };

    /// <summary>Subgroup-scope tiles in units of the subgroup size S: (BM, BN, BK) / S, one subgroup.</summary>
    static readonly (int M, int N, int K)[] SubgroupTiles = { (2, 4, 1), (4, 4, 1), (2, 8, 1) };

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && device.CooperativeMatrix2 && Tiles(device).Any();

    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && plain[1] >= 16 && (long)plain[0] * plain[2] * plain[3] <= int.MaxValue;

    /// <summary>The shader's shared memory: the fp16 A and B tiles and the f32 result tile, rows padded.</summary>
    internal static long SharedBytes(Conv2dCoopMat2.Tile t) => 2L * (t.BM * (t.BK + 8) + t.BK * (t.BN + 8)) + 4L * t.BM * (t.BN + 4);

    /// <summary>
    /// Whether <paramref name="t"/> runs on the device: matrices multiples of the flexible granularity for its scope and
    /// workgroup and within the largest dimension, a whole number of invocations per pixel (THREADS a multiple of BK)
    /// dividing the rows and columns, the staging registers, the workgroup size and the shared memory (with what
    /// workgroup scope reserves).
    /// </summary>
    internal static bool Fits(DeviceInfo device, Conv2dCoopMat2.Tile t, bool workgroupScope)
    {
        var g = device.FlexibleF16Granularity(workgroupScope ? t.Threads : 0);
        if (g is not { } gran || t.BM % gran.M != 0 || t.BN % gran.N != 0 || t.BK % gran.K != 0) return false;
        if (Math.Max(t.BM, Math.Max(t.BN, t.BK)) > device.CooperativeMatrix2MaxDimension) return false;
        if (t.Threads > device.MaxWorkgroupInvocations || (workgroupScope && t.Threads > device.CooperativeMatrix2MaxWorkgroupSize)) return false;
        if (t.Threads % t.BK != 0) return false;
        int rstep = t.Threads / t.BK;
        if (t.BM % rstep != 0 || t.BN % rstep != 0 || t.BM / rstep > AMax || t.BN / rstep > BMax) return false;
        return SharedBytes(t) + (workgroupScope ? device.CooperativeMatrix2ReservedSharedMemory : 0) <= device.MaxSharedMemoryBytes;
    }

    internal static IEnumerable<Conv2dCoopMat2.Tile> Tiles(DeviceInfo device)
    {
        if (device.CooperativeMatrix2WorkgroupScope) return WorkgroupTiles.Where(t => Fits(device, t, true));
        int s = (int)device.SubgroupSize;
        return SubgroupTiles.Select(t => new Conv2dCoopMat2.Tile(t.M * s, t.N * s, t.K * s, s)).Where(t => Fits(device, t, false));
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int n2 = c2 * a.Kernel.H * a.Kernel.W;
        var module = e.Device.CooperativeMatrix2WorkgroupScope ? Module : Module + ".subgroup";
        var push = PushConstants.Ints(n, c1, c2, ah, aw, qh, qw);
        var result = new List<TuneCandidate>();
        foreach (var t in Tiles(e.Device).OrderBy(t => (c1 + t.BM - 1) / t.BM * t.BM).ThenBy(t => t.BM))
        {
            uint gx = (uint)((n2 + t.BN - 1) / t.BN), gy = (uint)((c1 + t.BM - 1) / t.BM);
            if (gx > e.Device.MaxWorkgroupCount[0] || gy > e.Device.MaxWorkgroupCount[1]) continue;
            var (splits, stepsPerSplit) = Conv2dWeightGradTiled.Splits((long)gx * gy, (long)n * ah * aw, t.BK, (long)c1 * n2, groups: 1);
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads,
                splits > 1 ? (uint)(stepsPerSplit * t.BK) : 0u,
            };
            var spec = new KernelSpec(module, KernelSpec.Buffers(3), 28, constants, (uint)t.Threads);
            result.Add(new TuneCandidate($"coopmat2_{t}{(splits > 1 ? $"s{splits}" : "")}", spec, (gx, gy, (uint)splits), push)
            {
                Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
            });
        }
        return result;
    }
}
