using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The weight gradient as an implicit GEMM on VK_NV_cooperative_matrix2 matrices
/// (shaders/conv2d/conv2d.bwd_weight_coopmat2.comp: fp16 operands, f32 accumulation) under <see cref="Precision.Fp16"/>:
/// dW [C1 x C2*KH*KW] = A [C1 x K] * B [K x C2*KH*KW] over the K = N*AH*AW pixels, each workgroup's tile ONE
/// workgroup-scope accumulator, both operands gathered into shared memory a step ahead, K split over workgroups to fill
/// the GPU as the other weight gradients' (<see cref="Conv2dWeightGradTiled.Splits"/>) and the partial tiles added in
/// split order by reduce/partials; its .concat variant reads the shifted operand from a decoder's two inputs. Groups of
/// 1, at least 16 rows (C1).
/// Like <see cref="Conv2dCoopMat2"/> it needs tuning (only CompileOptions.Autotune runs it, each shape checked against the
/// plain f32 kernel by the tuner), runs as its .subgroup form on devices without workgroup scope (lavapipe of Mesa 26,
/// when named: the tests), and its workgroup-scope form has not run on a GPU yet.
/// </summary>
internal class Conv2dWeightGradCoopMat2 : CooperativeMatrixEntry, IConv2dWeightGrad
{
    public string Operation => "conv2d.bwd_weight";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 9;
    public bool NeedsTuning => true;
    public virtual bool ReadsConcat => true;

    const string Module = "conv2d/conv2d.bwd_weight_coopmat2";
    /// <summary>The shader's A_MAX and B_MAX: staged values of A and B per invocation, at most.</summary>
    const int AMax = 32, BMax = 64;

    /// <summary>Workgroup-scope tiles (rows x columns x pixels per step, invocations).</summary>
    static readonly CoopMat2Tile[] WorkgroupTiles =
    {
        new(64, 64, 32, 128), new(32, 128, 32, 128), new(64, 64, 32, 256), new(32, 64, 32, 128),
    };

    /// <summary>Subgroup-scope tiles in units of the subgroup size S: (BM, BN, BK) / S, one subgroup.</summary>
    static readonly (int M, int N, int K)[] SubgroupTiles = { (2, 4, 1), (4, 4, 1), (2, 8, 1) };

    public bool Supports(DeviceInfo device) => CooperativeMatrix2Kernels.Usable(device) && Tiles(device).Any();

    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && plain[1] >= 16 && (long)plain[0] * plain[2] * plain[3] <= int.MaxValue;

    /// <summary>The shader's shared memory: the fp16 A and B tiles and the f32 result tile, rows padded.</summary>
    internal static long SharedBytes(CoopMat2Tile t) => 2L * (t.BM * (t.BK + 8) + t.BK * (t.BN + 8)) + 4L * t.BM * (t.BN + 4);

    /// <summary>The tiles that fit the device (<see cref="CooperativeMatrix2Kernels.Tiles"/>) and the gather: a whole number of
    /// invocations per pixel (THREADS a multiple of BK) dividing the rows and columns, within the staging registers.</summary>
    internal static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device) =>
        CooperativeMatrix2Kernels.Tiles(device, WorkgroupTiles, SubgroupTiles, SharedBytes, t =>
            t.Threads % t.BK == 0 && t.BM % (t.Threads / t.BK) == 0 && t.BN % (t.Threads / t.BK) == 0
            && t.BM / (t.Threads / t.BK) <= AMax && t.BN / (t.Threads / t.BK) <= BMax);

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int n2 = c2 * a.Kernel.H * a.Kernel.W;
        var module = ActivationLayouts.Module(CooperativeMatrix2Kernels.Module(e.Device, Module), plain.Layout);
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

/// <summary>
/// <see cref="Conv2dWeightGradCoopMat2"/> over channels-last dY and x (conv2d.bwd_weight_coopmat2.nhwc, with its .bias and
/// .subgroup forms: the same slices staged from channels-last reads, the same products in the same order): a channels-last
/// training plan's cooperative_matrix2 weight gradient, timed where the compile tunes as the NCHW entry is. No .concat
/// form: a decoder's channels-last weight gradient reads its written concatenation or goes by sub-pixel phase.
/// </summary>
internal sealed class Conv2dWeightGradCoopMat2Nhwc : Conv2dWeightGradCoopMat2
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    public override bool ReadsConcat => false;
}
