using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The weight gradient as an implicit GEMM on tensor cores (shaders/conv2d/conv2d.bwd_weight_coopmat.comp: KHR
/// cooperative matrices, fp16 operands, f32 accumulation), for <see cref="Precision.Fp16"/> on the devices the
/// cooperative-matrix convolution runs on (<see cref="Conv2dCoopMat"/>): dW [C1 x C2*KH*KW] = A [C1 x K] * B [K x C2*KH*KW]
/// over the K = N*AH*AW pixels, f16 activations and gradients read straight into the tiles. Groups of 1 and at least 16
/// rows (C1). K is split over enough workgroups to fill the GPU as the tiled kernel's is
/// (<see cref="Conv2dWeightGradTiled.Plan"/>'s rule), and reduce/partials adds the partial tiles in split order.
/// Not yet timed on a GPU; on a CPU device (lavapipe emulates the matrices) it runs only when named.
/// </summary>
internal sealed class Conv2dWeightGradCoopMat : CooperativeMatrixEntry, IConv2dWeightGrad
{
    public string Operation => "conv2d.bwd_weight";
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 20;

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Tiles(device, 16).Any();
    public bool ReadsConcat => true;

    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && plain[1] >= 16 && (long)plain[0] * plain[2] * plain[3] <= int.MaxValue;

    /// <summary>
    /// Whether a workgroup of <paramref name="sgm"/> x <paramref name="sgn"/> subgroups fits the shader with S x S
    /// matrices: a whole number of pixel columns per pass (invocations a multiple of BK = 2S), at most 16 A and 64 B rows
    /// per invocation, the device's shared memory and workgroup size.
    /// </summary>
    internal static bool Fits(DeviceInfo device, int s, int sgm, int sgn)
    {
        int threads = (int)device.SubgroupSize * sgm * sgn, bm = 2 * s * sgm, bn = 8 * s, bk = 2 * s;
        if (threads > device.MaxWorkgroupInvocations || threads % bk != 0) return false;
        int rows = threads / bk;
        if (bm % rows != 0 || bn % rows != 0 || bm / rows > 16 || bn / rows > 64) return false;
        return SharedBytes(s, sgm) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>Two fp16 A and B tiles, and one f32 S x S staging tile per subgroup (at most 8 subgroups counted).</summary>
    internal static long SharedBytes(int s, int sgm) => 2L * 2 * (2 * s * sgm + 8 * s) * (2 * s + 8) + 8L * s * s * 4;

    /// <summary>The workgroup shapes for C1 rows, the default first: the fewest subgroups along the rows (2S rows each, up to 4) that cover C1, by 4 (2 where that is 4 of them) along the columns.</summary>
    internal static IEnumerable<(int M, int N)> Tiles(DeviceInfo device, int c1)
    {
        int s = device.CooperativeMatrixF16Size;
        int m = Conv2dCoopMat.SubgroupsM(c1, s);
        return new[] { (m, Conv2dCoopMat.SubgroupsN(m)), (m, 2), (Math.Max(1, m / 2), 2) }.Distinct().Where(t => Fits(device, s, t.Item1, t.Item2));
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        int n2 = c2 * a.Kernel.H * a.Kernel.W, bn = 8 * s, bk = 2 * s;
        var push = PushConstants.Ints(n, c1, c2, ah, aw, qh, qw);
        TuneCandidate Candidate(int sgm, int sgn)
        {
            int bm = 2 * s * sgm;
            uint gx = (uint)((n2 + bn - 1) / bn), gy = (uint)((c1 + bm - 1) / bm);
            var (splits, stepsPerSplit) = Conv2dWeightGradTiled.Splits((long)gx * gy, (long)n * ah * aw, bk, (long)c1 * n2, groups: 1);
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)sgm, (uint)sgn, (uint)s, (uint)subgroup,
                splits > 1 ? (uint)(stepsPerSplit * bk) : 0u,
            };
            var spec = new KernelSpec("conv2d/conv2d.bwd_weight_coopmat", KernelSpec.Buffers(3), 28, constants, (uint)(subgroup * sgm * sgn));
            return new TuneCandidate($"coopmat{sgm}x{sgn}", spec, (gx, gy, (uint)splits), push)
            {
                Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
            };
        }
        return Tiles(e.Device, c1).Select(t => Candidate(t.M, t.N)).ToList();
    }
}
