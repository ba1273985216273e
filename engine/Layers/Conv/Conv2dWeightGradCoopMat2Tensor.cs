using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.bwd_weight_coopmat2_tensor.comp: the stride-1 weight gradient (dilation 1, groups 1, NCHW) as one
/// implicit GEMM per kernel tap on workgroup-scope cooperative_matrix2 matrices whose operands are loaded through tensor
/// addressing: per tile of TH x TW pixels of one image, the plain operand's block of BM channels and the shifted
/// operand's block of BN channels at the tap, read channels-innermost through a permuting view, zero past the image by the
/// tensor layout's clamp, the driver staging both through shared memory. The pixel tiles are split over workgroups to
/// fill the GPU (<see cref="Conv2dWeightGradTiled.Splits"/>) and the partial tiles added in split order by
/// reduce/partials; its .bias variant writes a Conv2d's bias gradient from the same blocks. Where
/// <see cref="Conv2dWeightGradCoopMat2"/> gathers the im2col slice of every tap by hand, this one leaves the staging to the
/// driver, as <see cref="Conv2dCoopMat2Tensor"/> does for the forward. No .concat variant: a decoder's gradient takes the
/// other kernels.
/// Devices with tensor addressing and workgroup scope only (NVIDIA; lavapipe of Mesa 26 has neither), so no test here
/// runs it: plan tests specialize and validate its modules for a description of the H200, and it needs tuning
/// (<see cref="NeedsTuning"/>): the tuner times it against the other kernels and rejects it for a shape where its result
/// disagrees with the plain f32 kernel's, and <c>kiln selftest</c> checks it against that kernel on the GPU.
/// </summary>
internal sealed class Conv2dWeightGradCoopMat2Tensor : CooperativeMatrixEntry, IConv2dWeightGrad
{
    const string Module = "conv2d/conv2d.bwd_weight_coopmat2_tensor";

    public string Operation => "conv2d.bwd_weight";
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 8;
    public bool NeedsTuning => true;

    /// <summary>Workgroup tiles (BM rows, BN columns of a tap's gradient, BK pixels a step, invocations): 64 pixels a step
    /// (two rows of 32, or four of 16), the 32-row one for layers of few channels; four, each a pipeline the tuner builds
    /// and times per shape.</summary>
    static readonly CoopMat2Tile[] WorkgroupTiles =
    {
        new(64, 64, 64, 128), new(64, 64, 64, 256), new(128, 128, 64, 256), new(32, 64, 64, 128),
    };

    public bool Supports(DeviceInfo device) =>
        CooperativeMatrix2Kernels.TensorAddressed(device) && Tiles(device).Any();

    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && a.Stride == (1, 1) && a.Dilation == (1, 1) && plain[1] >= 16 && (long)plain[0] * plain[2] * plain[3] <= int.MaxValue;

    /// <summary>The tiles that fit the device (<see cref="CooperativeMatrix2Kernels.TensorTiles"/>).</summary>
    internal static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device) =>
        CooperativeMatrix2Kernels.TensorTiles(device, WorkgroupTiles);

    /// <summary>One candidate per tile that fits (the row tile that covers C1 with the least padding first), its pixel tiles
    /// <see cref="Conv2dCoopMat2Tensor.Columns"/> wide, split to fill the GPU.</summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int taps = a.Kernel.H * a.Kernel.W, tw = Conv2dCoopMat2Tensor.Columns(aw);
        var push = PushConstants.Ints(n, c1, c2, ah, aw, qh, qw);
        var result = new List<TuneCandidate>();
        foreach (var t in Tiles(e.Device).OrderBy(t => (c1 + t.BM - 1) / t.BM * t.BM).ThenBy(t => t.BM))
        {
            if (t.BK % tw != 0) continue;
            int th = t.BK / tw;
            long pixelTiles = (long)n * ((ah + th - 1) / th) * ((aw + tw - 1) / tw);
            uint gx = (uint)((c2 + t.BN - 1) / t.BN), gy = (uint)((c1 + t.BM - 1) / t.BM);
            if (gx > e.Device.MaxWorkgroupCount[0] || gy > e.Device.MaxWorkgroupCount[1]) continue;
            var (splits, tilesPerSplit) = Conv2dWeightGradTiled.Splits((long)gx * gy * taps, pixelTiles, 1, (long)c1 * c2 * taps, groups: taps);
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, 1u, 1u, (uint)a.Padding.H, (uint)a.Padding.W, 1u, 1u,
                (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads, splits > 1 ? (uint)tilesPerSplit : 0u, (uint)tw,
                (uint)(e.Device.FlexibleF16Granularity(t.Threads)?.N ?? 16),
            };
            var spec = new KernelSpec(Module, KernelSpec.Buffers(3), 28, constants, (uint)t.Threads);
            result.Add(new TuneCandidate($"tensor_{t}{(splits > 1 ? $"s{splits}" : "")}", spec, (gx, gy, (uint)(splits * taps)), push)
            {
                Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
            });
        }
        return result;
    }
}
