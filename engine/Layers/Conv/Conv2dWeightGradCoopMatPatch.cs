using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.bwd_weight_coopmat_patch.comp: the weight gradient of convolutions with strides and dilations
/// up to 2, on tensor cores under <see cref="Precision.Fp16"/> (the UNets' layers, an autoencoder's strided ones, the
/// sub-pixel decoders' 4x4 stride-2 gradient; Conv2d's and ConvTranspose2d's). Per pixel tile it stages the plain
/// operand's block and the shifted operand's patch with its halo once, 8 channels or pixels to a 16-byte shared store,
/// and reads every tap's operand from the patch as a shifted (and, for a stride, strided) matrix load, where
/// <see cref="Conv2dWeightGradCoopMat"/> stages an im2col tile (each element once per tap). A workgroup holds one
/// accumulator per tap, so a kernel of more than 9 taps runs in blocks of taps (<see cref="TapBlock"/>), one per
/// workgroup along z, each staging its own patch. The pixel tiles are split over workgroups as the other
/// weight-gradient kernels split their pixels
/// (<see cref="Conv2dWeightGradTiled.Splits"/>), and reduce/partials adds the splits in order. Not yet run on a GPU: it
/// ranks above the im2col kernel where it applies (the tuner times both), and on a CPU device runs only when named.
/// </summary>
internal class Conv2dWeightGradCoopMatPatch : CooperativeMatrixEntry, IConv2dWeightGrad
{
    public string Operation => "conv2d.bwd_weight";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 21;

    /// <summary>The module of <see cref="Layout"/>: conv2d.bwd_weight_coopmat_patch, or its ".nhwc" variant.</summary>
    string Module => ActivationLayouts.Module("conv2d/conv2d.bwd_weight_coopmat_patch", Layout);
    bool ChannelsLast => Layout == TensorLayout.Nhwc;
    /// <summary>16-byte units of each operand an invocation stages per tile, at most (the shader's UNITS_MAX).</summary>
    const int UnitsMax = 16;

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Tiles(device, Largest, 16, 16, ChannelsLast).Any();
    public virtual bool ReadsConcat => true;

    /// <summary>
    /// Groups of 1, strides and dilations up to 2, padding of at least 0, at least 16 rows (C1). Any kernel size: one
    /// of more than 9 taps runs in tap blocks.
    /// </summary>
    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && a.Stride.H <= 2 && a.Stride.W <= 2 && a.Dilation.H <= 2 && a.Dilation.W <= 2 &&
        a.Padding.H >= 0 && a.Padding.W >= 0 && plain[1] >= 16 && (long)plain[0] * plain[2] * plain[3] <= int.MaxValue;

    /// <summary>
    /// The taps one workgroup accumulates: a block of at most 9 taps (the shader's TAPS_MAX) spanning at most 5 input
    /// pixels along each axis (what <see cref="Largest"/>'s patch holds, so every block fits where the entry is
    /// supported), the one that needs the fewest blocks, then the smallest patch: the whole kernel up to 3x3, 2x4 for the
    /// sub-pixel gradient's 4x4 taps, 3x3 for a 5x5 kernel, 2x4 (eight blocks) for a 7x7.
    /// </summary>
    internal static (int H, int W) TapBlock(ConvAttributes a)
    {
        int Most(int k, int d) => Math.Min(k, (Largest.KernelSpan.H - 1) / d + 1);
        var blocks =
            from bh in Enumerable.Range(1, Most(a.Kernel.H, a.Dilation.H))
            from bw in Enumerable.Range(1, Most(a.Kernel.W, a.Dilation.W))
            where bh * bw <= 9
            let block = a with { Kernel = (bh, bw) }
            let patch = block.InputPatch(8, 16)
            orderby Blocks(a, (bh, bw)), patch.Rows * patch.Cols
            select (bh, bw);
        return blocks.First();
    }

    /// <summary>How many tap blocks of <paramref name="block"/> cover the kernel (workgroups along z per split).</summary>
    internal static int Blocks(ConvAttributes a, (int H, int W) block) =>
        (a.Kernel.H + block.H - 1) / block.H * ((a.Kernel.W + block.W - 1) / block.W);

    /// <summary>
    /// The shared memory: the shifted operand's patch (BN + 8 f16 per pixel), the plain operand's block of BM = Tm S M
    /// rows (TR * S + 8 f16 per row; <paramref name="channelsLast"/>, BM + 8 per pixel), one f32 S x S staging tile per
    /// subgroup.
    /// </summary>
    internal static long SharedBytes(ConvAttributes a, int s, WeightGradTile t, bool channelsLast = false)
    {
        var (pr, pc) = a.InputPatch(t.Rows, s);
        long bm = (long)t.Tm * s * t.M;
        long block = channelsLast ? 2L * t.Rows * s * (bm + 8) : 2L * bm * (t.Rows * s + 8);
        return 2L * pr * pc * (s * t.N + 8) + block + 4L * t.M * t.N * s * s;
    }

    /// <summary>Whether tile <paramref name="t"/> fits the device and the shader's staging registers, its BM rows within
    /// the workgroup's invocations (one each adds up a bias row).</summary>
    internal static bool Fits(DeviceInfo device, ConvAttributes a, WeightGradTile t, bool channelsLast = false)
    {
        int s = device.CooperativeMatrixF16Size, threads = (int)device.SubgroupSize * t.M * t.N, bm = t.Tm * s * t.M;
        var (pr, pc) = a.InputPatch(t.Rows, s);
        long patchUnits = (long)pr * pc * (s * t.N / 8), blockUnits = (long)bm * (t.Rows * s / 8);
        return t.Tm is 1 or 2 && threads <= device.MaxWorkgroupInvocations && bm <= threads && (patchUnits + threads - 1) / threads <= UnitsMax &&
               (blockUnits + threads - 1) / threads <= UnitsMax && SharedBytes(a, s, t, channelsLast) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>The layer Supports checks a device against: the largest patch Accepts takes (3x3, dilation and stride 2).</summary>
    static readonly ConvAttributes Largest = new(16, 16, (3, 3), (2, 2), (2, 2), (2, 2), 1, false);

    /// <summary>
    /// The tuner's candidates, its default first: the fewest S-row subgroups (up to 4) that cover C1, by 1 or 2 S-column
    /// subgroups for C2, with 8-row tiles, then 4-row ones (the larger patches of strided layers fit only those), half
    /// the C1 subgroups, and 2-row tiles; then the wide tiles, 2 S rows per subgroup (two accumulators per tap: each B
    /// matrix loaded once for two products), the fewest subgroups that cover C1 with 8-row and 4-row tiles. Those that
    /// <see cref="Fits"/> the device.
    /// </summary>
    internal static IEnumerable<WeightGradTile> Tiles(DeviceInfo device, ConvAttributes a, int c1, int c2, bool channelsLast = false)
    {
        int s = device.CooperativeMatrixF16Size;
        int m = c1 <= s ? 1 : c1 <= 2 * s ? 2 : 4, n = c2 <= s ? 1 : 2, wide = c1 <= 2 * s ? 1 : c1 <= 4 * s ? 2 : 4;
        var all = new WeightGradTile[]
        {
            new(m, n, 8), new(m, n, 4), new(Math.Max(1, m / 2), n, 8), new(m, n, 2), new(wide, n, 8, Tm: 2), new(wide, n, 4, Tm: 2),
        };
        return all.Distinct().Where(t => Fits(device, a, t, channelsLast));
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        var push = PushConstants.Ints(n, c1, c2, ah, aw, qh, qw);
        var block = TapBlock(a);
        int blocks = Blocks(a, block);
        var result = new List<TuneCandidate>();
        foreach (var t in Tiles(e.Device, a with { Kernel = block }, c1, c2, ChannelsLast))
        {
            int bm = t.Tm * s * t.M;
            uint gx = (uint)((c2 + s * t.N - 1) / (s * t.N)), gy = (uint)((c1 + bm - 1) / bm);
            long tiles = (long)n * ((ah + t.Rows - 1) / t.Rows) * ((aw + s - 1) / s);
            var (splits, tilesPerSplit) = Conv2dWeightGradTiled.Splits((long)gx * gy * blocks, tiles * t.Rows * s, t.Rows * s, dw.Shape.Elements, groups: blocks);
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Padding.H, (uint)a.Padding.W, 0u, 0u, 0u, // 4..6: the tile's
                (uint)s, (uint)subgroup, splits > 1 ? (uint)tilesPerSplit : 0u,
                (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)block.H, (uint)block.W,
            };
            var spec = t.Specialize(new KernelSpec(Module, KernelSpec.Buffers(3), 28, constants, 0), (uint)subgroup);
            result.Add(new TuneCandidate(t.Name, spec, (gx, gy, (uint)(splits * blocks)), push)
            {
                Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
            });
        }
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dWeightGradCoopMatPatch"/> over channels-last dY and x (conv2d.bwd_weight_coopmat_patch.nhwc and its
/// .bias form): both operands staged 8 channels of a pixel to a unit, the same products in the same order. The
/// tensor-core weight gradient of a channels-last training plan; no ".concat" form (a decoder's channels-last gradient
/// reads the concatenation written, <see cref="ConcatConv2d"/>).
/// </summary>
internal sealed class Conv2dWeightGradCoopMatPatchNhwc : Conv2dWeightGradCoopMatPatch
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    public override bool ReadsConcat => false;
}

/// <summary>
/// A workgroup tile of <see cref="Conv2dWeightGradCoopMatPatch"/>: <paramref name="M"/> x <paramref name="N"/> subgroups
/// (along C1, along C2), each <paramref name="Tm"/> S rows (1 or 2 accumulators per tap) by S columns, over pixel tiles
/// of <paramref name="Rows"/> rows.
/// </summary>
internal readonly record struct WeightGradTile(int M, int N, int Rows, int Tm = 1)
{
    /// <summary>Constants 4 SG_M, 5 SG_N, 6 TR and 16 TM_WIDE.</summary>
    static readonly PatchTileConstants Slots = new(First: 4, WideFlag: 16, NarrowTm: 1, WideTm: 2);

    /// <summary>The tuner's name of its candidate: "patch{M}x{N}r{Rows}", "m2" after it for a wide tile.</summary>
    public string Name => Slots.Name(M, N, Rows, Tm);

    /// <summary>The tile of a candidate's spec.</summary>
    public static WeightGradTile Of(KernelSpec spec)
    {
        var (m, n, rows, tm) = Slots.Read(spec);
        return new(m, n, rows, tm);
    }

    /// <summary><paramref name="spec"/> (a form of the kernel) in this tile (<see cref="PatchTileConstants.Write"/>).</summary>
    public KernelSpec Specialize(KernelSpec spec, uint subgroupSize) => Slots.Write(spec, M, N, Rows, Tm, subgroupSize);
}
