using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_coopmat_patch.comp: the convolution on tensor cores (KHR cooperative matrices, fp16
/// operands, f32 accumulation) under <see cref="Precision.Fp16"/> for kernels that reach at most 5 input pixels per axis,
/// stride and dilation up to 2: the UNets' 3x3 layers, an autoencoder's strided ones. Where <see cref="Conv2dCoopMat"/>
/// stages an im2col tile (every input element once per kernel tap, each a scalar load, store and index computation),
/// this kernel stages the output tile's input patch with its halo once per 16 input channels, 8 channels to a 16-byte
/// shared store, and reads all KH x KW taps from it as shifted (and, for a stride, strided) matrix loads;
/// the weights are packed to f16 in the matrices' layout by a pass of their own (conv2d.pack_weight_f16.comp, a
/// <see cref="TunePrepare"/>: a few KiB per layer and step) and loaded straight from global memory. Per multiply-add it
/// stages about a tenth of what the im2col kernel does (3x3, 16 input channels per step: 2 x 180 patch units
/// against 9 x 16 x 128 scalars for the same products).
/// It ranks above the im2col kernel where it applies (under CompileOptions.Autotune the two are timed against each other
/// and the plain kernels; on the H200 the tuner chose this one for most of the UNets' fp16 layers), and on a CPU device it
/// runs only when named. <see cref="Conv2dCoopMatPatchSharedWeights"/> is its .sa variant, the weights staged too.
/// </summary>
internal class Conv2dCoopMatPatch : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 11;

    /// <summary>The module of <see cref="Layout"/>: conv2d.fwd_coopmat_patch, or its ".nhwc" variant.</summary>
    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd_coopmat_patch", Layout);
    /// <summary>Input channels per reduction step (the shader's CK); the packed weight pads Cin to a multiple of it.</summary>
    internal const int ChannelStep = 16;
    /// <summary>Patch units (8 channels of one pixel) an invocation stages per step, at most (the shader's UNITS_MAX).</summary>
    const int UnitsMax = 16;
    /// <summary>Weight units (8 channels of one row and tap) an invocation of the .sa variant stages per step, at most (A_UNITS_MAX).</summary>
    const int WeightUnitsMax = 24;

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Tiles(device, Largest, 16).Any();
    public bool ReadsConcat => true;
    /// <summary>Tiles of an even number of output rows per subgroup (TN, constant 9): a window's two rows are two of one
    /// subgroup's accumulators. Stride-1 or strided layers alike; not a strided gradient's phase (its output constants).</summary>
    public bool Pools(TuneCandidate candidate, DeviceInfo device) =>
        candidate.Spec.Module == Module && candidate.Spec.Constants[9] % 2 == 0 && candidate.Spec.Constant(16) == 0;

    /// <summary>
    /// Groups of 1, stride and dilation up to 2, kernels whose taps span at most 5 input pixels per axis ((K - 1) D + 1:
    /// a larger patch outgrows the staging registers and shared memory of the tiles), at least 16 output channels, and
    /// pixel tiles within the workgroup counts (at the smallest tile, 4 x 8 pixels).
    /// </summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Stride.H <= 2 && a.Stride.W <= 2 && a.Dilation.H <= 2 && a.Dilation.W <= 2 &&
        a.KernelSpan.H <= 5 && a.KernelSpan.W <= 5 && y[1] >= 16 &&
        (long)y[0] * ((y[2] + 3) / 4) * ((y[3] + 7) / 8) <= 65535;

    /// <summary>The workgroup's shared memory: two patch buffers (LDP = 24 f16 per pixel), the bias tile (BM = TM S SG_M
    /// rows) and one f32 S x S staging tile per subgroup; with <paramref name="sharedWeights"/> (the .sa variant) one patch
    /// buffer and the step's weight blocks, KH KW x BM rows of CK + 8 f16.</summary>
    internal static long SharedBytes(ConvAttributes a, int s, PatchTile t, bool sharedWeights = false)
    {
        var (pr, pc) = a.InputPatch(t.Rows * t.N, s);
        long bm = (long)t.Tm * s * t.M;
        long weights = sharedWeights ? a.Kernel.H * a.Kernel.W * bm * (ChannelStep + 8) * 2 : 0;
        return (sharedWeights ? 1L : 2L) * pr * pc * (ChannelStep + 8) * 2 + weights + bm * s * 4 + (long)t.M * t.N * s * s * 4;
    }

    /// <summary>Whether a tile that <see cref="Fits"/> fits the .sa variant too (<see cref="Conv2dCoopMatPatchSharedWeights"/>):
    /// its weight blocks within the device's shared memory beside one patch buffer, and within the shader's weight
    /// staging registers.</summary>
    internal static bool FitsSharedWeights(DeviceInfo device, ConvAttributes a, PatchTile t)
    {
        int s = device.CooperativeMatrixF16Size, threads = (int)device.SubgroupSize * t.M * t.N;
        int units = a.Kernel.H * a.Kernel.W * t.Tm * s * t.M * (ChannelStep / 8);
        return (units + threads - 1) / threads <= WeightUnitsMax && SharedBytes(a, s, t, sharedWeights: true) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>Whether tile <paramref name="t"/> fits the device (workgroup size, shared memory) and the shader's
    /// accumulators and staging registers.</summary>
    internal static bool Fits(DeviceInfo device, ConvAttributes a, PatchTile t)
    {
        int s = device.CooperativeMatrixF16Size, threads = (int)device.SubgroupSize * t.M * t.N;
        var (pr, pc) = a.InputPatch(t.Rows * t.N, s);
        int units = pr * pc * (ChannelStep / 8);
        return t.Rows is >= 1 and <= 4 && t.Tm is 2 or 4 && threads <= device.MaxWorkgroupInvocations && (units + threads - 1) / threads <= UnitsMax &&
               SharedBytes(a, s, t) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>
    /// The tuner's candidates, its default first: 2 S channels per subgroup, the fewest subgroups that cover Cout
    /// (<see cref="Conv2dCoopMat.SubgroupsM"/>), by 2 subgroups of 4 rows (8 x S pixels); then 4 subgroups of 2 rows (more
    /// warps, fewer registers), 2 of 2 and 4 of 1 (4-row tiles: small images, and the larger patches of strided layers)
    /// and half the channel subgroups; then the wide tiles, 4 S channels per subgroup (4 x 4 accumulators: half the
    /// shared-memory loads per product), one or two subgroups along the channels by 2 or 4 of 4 rows, or 4 of 2. Those
    /// that <see cref="Fits"/> the device. Every tile's channels divide <see cref="Padded"/>'s 8 S rows.
    /// </summary>
    internal static IEnumerable<PatchTile> Tiles(DeviceInfo device, ConvAttributes a, int cout)
    {
        int s = device.CooperativeMatrixF16Size, m = Conv2dCoopMat.SubgroupsM(cout, s), wide = cout <= 4 * s ? 1 : 2;
        var all = new PatchTile[]
        {
            new(m, 2, 4), new(m, 4, 2), new(m, 2, 2), new(m, 4, 1), new(Math.Max(1, m / 2), 2, 4),
            new(wide, 2, 4, Tm: 4), new(wide, 4, 4, Tm: 4), new(wide, 4, 2, Tm: 4),
        };
        return all.Distinct().Where(t => Fits(device, a, t));
    }

    const string PackModule = "conv2d/conv2d.pack_weight_f16";

    /// <summary>
    /// The weight of <paramref name="cout"/> x <paramref name="cin"/> x <paramref name="taps"/> rounded to f16 as
    /// [taps, COP, CIP], zeros padding Cout to <paramref name="cop"/> and Cin to <paramref name="cip"/>
    /// (conv2d.pack_weight_f16.comp): the first pass of this kernel's candidates and of <see cref="Conv2dCoopMat2"/>'s.
    /// </summary>
    internal static TunePrepare Pack(Emitter e, int cout, int cin, int taps, int cop, int cip)
    {
        int packed = checked(taps * cop * cip);
        return new TunePrepare(new KernelSpec(PackModule, KernelSpec.Buffers(2), 24, new[] { 0u }, Emitter.ElementwiseLocal),
            e.ElementwiseGroups(packed), PushConstants.Ints(packed, cout, cin, taps, cop, cip), Input: 1, packed, ElementType.F16);
    }

    /// <summary>
    /// <paramref name="pack"/> (this kernel's weight packing, else null) reading the weight of <paramref name="a"/>, the
    /// convolution whose input gradient this kernel computes, as it packs (FLIP): channels swapped and the sub-kernel of
    /// <paramref name="ny"/> x <paramref name="nx"/> taps from (<paramref name="k0y"/>, <paramref name="k0x"/>) in steps
    /// of <paramref name="step"/> (by default the stride) turned by 180 degrees (the whole kernel for a stride-1 layer:
    /// Conv2dInputGradFlipped; one output phase's taps for a strided one: Conv2dInputGradCoopMatStrided). The flipped
    /// weight never exists on its own. Groups of 1, as the kernel takes.
    /// </summary>
    internal static TunePrepare? FlippedPack(TunePrepare pack, ConvAttributes a, int k0y = 0, int k0x = 0, int ny = 0, int nx = 0,
        (int H, int W)? step = null)
    {
        if (pack.Spec.Module != PackModule) return null;
        var (sy, sx) = step ?? a.Stride;
        var constants = new[] { 1, a.Kernel.H, a.Kernel.W, k0y, k0x, sy, sx, ny > 0 ? ny : a.Kernel.H, nx > 0 ? nx : a.Kernel.W };
        return pack with { Spec = pack.Spec with { Constants = constants.Select(v => (uint)v).ToArray() } };
    }

    /// <summary>
    /// <paramref name="pack"/> (this kernel's weight packing, as <see cref="Pack"/> made it for one phase of
    /// <paramref name="ny"/> x <paramref name="nx"/> taps, else null) packing every output phase's taps of the strided
    /// layer <paramref name="a"/>, turned and swapped, one phase after the other: [<paramref name="phases"/> * ny nx, COP,
    /// CIP], what the .phases variants of this kernel and of conv2d.fwd_coopmat2 read (FLIP with PHASES: each phase's
    /// first taps derived in the shader from the layer's stride, dilation and padding), the taps
    /// <paramref name="step"/> apart in the weight.
    /// </summary>
    internal static TunePrepare? PhasesPack(Emitter e, TunePrepare pack, ConvAttributes a, int ny, int nx, (int H, int W) step, int phases)
    {
        // One phase's flipped packing (its first tap derived per phase in the shader), then PHASES and the layer's geometry.
        if (FlippedPack(pack, a, 0, 0, ny, nx, step) is not { } phase) return null;
        int packed = checked(phases * pack.Elements);
        var geometry = new[] { 0, 0, 0, phases, a.Stride.H, a.Stride.W, a.Dilation.H, a.Dilation.W, a.Padding.H, a.Padding.W };
        var push = (byte[])pack.Push.Clone();
        BitConverter.TryWriteBytes(push.AsSpan(0, 4), packed); // Pack's first push constant: the count it writes
        return pack with
        {
            Spec = phase.Spec with { Constants = phase.Spec.Constants.Concat(geometry.Select(v => (uint)v)).ToArray() },
            Groups = e.ElementwiseGroups(packed),
            Push = push,
            Elements = packed,
        };
    }

    /// <summary>
    /// The weight packing of the .subpixel variants of conv2d.fwd_coopmat2 (<see cref="Conv2dCoopMat2SubPixel"/>) and of
    /// this kernel (<see cref="Conv2dCoopMatPatchSubPixel"/>) (SUBPIXEL): a
    /// 3x3 weight over a concatenation whose <paramref name="upsampled"/> channels are upsampled 2x, packed as
    /// [16 + 9, COP, CIP], each output phase's 2x2 taps over the upsampled input (sums of the 3x3 ones) and then the
    /// other input's 3x3.
    /// </summary>
    internal static TunePrepare SubPixelPack(Emitter e, int cout, int cin, (int Channels, int First) upsampled, int cop, int cip)
    {
        int packed = checked(25 * cop * cip);
        var constants = new uint[] { 0, 3, 3, 0, 0, 1, 1, 3, 3, 1, (uint)upsampled.First, (uint)upsampled.Channels };
        return new TunePrepare(new KernelSpec(PackModule, KernelSpec.Buffers(2), 24, constants, Emitter.ElementwiseLocal),
            e.ElementwiseGroups(packed), PushConstants.Ints(packed, cout, cin, 9, cop, cip), Input: 1, packed, ElementType.F16);
    }

    /// <summary>The layer Supports checks a device against: the largest patch Accepts takes (5-pixel span, stride 2).</summary>
    static readonly ConvAttributes Largest = new(16, 16, (3, 3), (2, 2), (2, 2), (2, 2), 1, true);

    /// <summary>The packed weight's rows and columns: Cout padded to the largest channel tile (4 subgroups of 2 S), Cin to the channel step.</summary>
    internal static (int Cop, int Cip) Padded(DeviceInfo device, int cout, int cin)
    {
        int s = device.CooperativeMatrixF16Size;
        return ((cout + 8 * s - 1) / (8 * s) * (8 * s), (cin + ChannelStep - 1) / ChannelStep * ChannelStep);
    }

    /// <summary>
    /// The candidates of <paramref name="module"/> for the layer <paramref name="a"/> (its constants and the patch its
    /// tiles stage): one per tile of <see cref="Tiles"/> over an output grid of <paramref name="grid"/> pixels per image
    /// and <paramref name="phases"/> such grids in z (the .subpixel variant's 4), each with <paramref name="push"/> and
    /// the weight packing <paramref name="pack"/>; tiles whose count passes the device's limit are left out.
    /// </summary>
    internal static IEnumerable<TuneCandidate> Tiled(Emitter e, ConvAttributes a, string module, int n, int cout, (int H, int W) grid,
        Value? bias, Activation act, float slope, byte[] push, TunePrepare pack, int phases)
    {
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        foreach (var t in Tiles(e.Device, a, cout))
        {
            long tiles = (long)n * ((grid.H + t.Rows * t.N - 1) / (t.Rows * t.N)) * ((grid.W + s - 1) / s);
            if (tiles > e.Device.MaxWorkgroupCount[0]) continue;
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Padding.H, (uint)a.Padding.W, bias != null ? 1u : 0u, (uint)act,
                KernelSpec.Word(slope), 0u, 0u, 0u, (uint)s, (uint)subgroup, // 7..9: the tile's
                (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Dilation.H, (uint)a.Dilation.W,
            };
            var spec = t.Specialize(new KernelSpec(module, KernelSpec.Buffers(4), 36, constants, 0), (uint)subgroup);
            int bm = t.Tm * s * t.M;
            var groups = ((uint)tiles, (uint)((cout + bm - 1) / bm), (uint)phases);
            yield return new TuneCandidate(t.Name, spec, groups, push) { Prepare = pack };
        }
    }

    /// <summary>The candidates of <paramref name="module"/>, a form of this kernel that convolves x alone (no .concat,
    /// .pool or .subpixel reads), for the layer: one per tile of <see cref="Tiles"/>, the weight packed for it.</summary>
    internal static List<TuneCandidate> Plain(Emitter e, ConvAttributes a, string module, Value x, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        var (cop, cip) = Padded(e.Device, cout, cin);
        return Tiled(e, a, module, n, cout, (oh, ow), bias, act, slope, PushConstants.Ints(n, cin, cout, h, wd, oh, ow, cop, cip),
            Pack(e, cout, cin, a.Kernel.H * a.Kernel.W, cop, cip), phases: 1).ToList();
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var result = Plain(e, a, Module, x, bias, y, act, slope);
        // Channels-last f16 with whole channel steps: each tile once more as the .direct variant, whose interior tiles
        // load B straight from x (conv2d.fwd_coopmat_patch.comp); the tuner times it against the patch, untuned runs
        // never take it.
        if (Layout == TensorLayout.Nhwc && x.ElementType == ElementType.F16 && x.Shape[1] % ChannelStep == 0)
            result.AddRange(result.ToList().Select(c => c with { Name = c.Name + "_direct", Spec = c.Spec with { Module = c.Spec.Module + ".direct" } }));
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dCoopMatPatch"/> over channels-last activations (conv2d.fwd_coopmat_patch.nhwc, with its .pool and
/// .concat variants): a patch unit's 8 channels are one contiguous 16-byte run of x, so a step's staging loads run along
/// x's rows, and a whole tile is stored column-major (stride Cout) from the accumulators. Under tuning each tile is offered
/// once more as the .direct variant, whose interior tiles load every tap's operand straight from x with no patch. The
/// tensor-core convolution of an NHWC plan (<see cref="CompileOptions.ActivationLayout"/>).
/// </summary>
internal sealed class Conv2dCoopMatPatchNhwc : Conv2dCoopMatPatch
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}

/// <summary>
/// conv2d.fwd_coopmat_patch.sa (and .sa.dact, a stride-1 input gradient through an activation; .sa.unpool, one writing a
/// pool's gradient, <see cref="PoolGradient"/>): <see cref="Conv2dCoopMatPatch"/>
/// with the weights staged in shared memory beside the patch, each step's KH KW blocks of BM rows by 16 input channels,
/// so that every tensor-core operand is a shared-memory load; the patch kernel loads its weight fragments straight from
/// global memory, which on the H200 left it at 45 to 75 TFLOP/s, near a cooperative-matrix GEMM that loads both operands
/// that way (57 to 60, ../shared/TOOLCHAIN.md). One buffer of each (two barriers a step) to fit a 64-channel 3x3 tile in
/// 48 KiB; the tiles of <see cref="Conv2dCoopMatPatch.Tiles"/> that fit it. The same products in the same order as the
/// patch kernel: its results bit for bit. Tuning-only (<see cref="NeedsTuning"/>: the tuner times it against the patch
/// tiles and the rest), on a CPU device only when named; not yet run on a GPU. No .concat, .pool or .subpixel forms.
/// </summary>
internal class Conv2dCoopMatPatchSharedWeights : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    public bool NeedsTuning => true;

    static readonly Conv2dCoopMatPatch NchwPatch = new(), NhwcPatch = new Conv2dCoopMatPatchNhwc();
    /// <summary>The patch kernel of the same layout, whose limits and tiles this variant shares.</summary>
    Conv2dCoopMatPatch Patch => Layout == TensorLayout.Nhwc ? NhwcPatch : NchwPatch;
    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd_coopmat_patch", Layout) + ".sa";

    /// <summary>Where the patch kernel runs and a 3x3 layer's tiles fit this variant, of 64 output channels and of 256 (whose
    /// half-width tile fits where its widest does not).</summary>
    public bool Supports(DeviceInfo device) => Patch.Supports(device) &&
        new[] { 64, 256 }.All(cout => Conv2dCoopMatPatch.Tiles(device, Reference, cout)
            .Any(t => Conv2dCoopMatPatch.FitsSharedWeights(device, Reference, t)));

    static readonly ConvAttributes Reference = new(16, 16, (3, 3), (1, 1), (1, 1), (1, 1), 1, true);

    /// <summary>The patch kernel's layers with at most 3 x 3 taps, stride and dilation 1 (a patch and weight blocks no larger
    /// than <see cref="Supports"/> checked).</summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        Patch.Accepts(a, x, y) && a.Stride == (1, 1) && a.Dilation == (1, 1) && a.Kernel.H <= 3 && a.Kernel.W <= 3;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        return Conv2dCoopMatPatch.Plain(e, a, Module, x, bias, y, act, slope)
            .Where(c => Conv2dCoopMatPatch.FitsSharedWeights(e.Device, a, PatchTile.Of(c.Spec)))
            .Select(c => c with { Name = c.Name + "_sa" }).ToList();
    }
}

/// <summary><see cref="Conv2dCoopMatPatchSharedWeights"/> over channels-last activations (conv2d.fwd_coopmat_patch.nhwc.sa).</summary>
internal sealed class Conv2dCoopMatPatchSharedWeightsNhwc : Conv2dCoopMatPatchSharedWeights
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}

/// <summary>
/// A workgroup tile of <see cref="Conv2dCoopMatPatch"/>: <paramref name="M"/> x <paramref name="N"/> subgroups (along the
/// output channels, along the rows), each <paramref name="Tm"/> S output channels (2 or 4 accumulator rows) by
/// <paramref name="Rows"/> output rows of S pixels.
/// </summary>
internal readonly record struct PatchTile(int M, int N, int Rows, int Tm = 2)
{
    /// <summary>Constants 7 SG_M, 8 SG_N, 9 TN and 25 TM_WIDE.</summary>
    static readonly PatchTileConstants Slots = new(First: 7, WideFlag: 25, NarrowTm: 2, WideTm: 4);

    /// <summary>The tuner's name of its candidate: "patch{M}x{N}r{Rows}", "m4" after it for a wide tile.</summary>
    public string Name => Slots.Name(M, N, Rows, Tm);

    /// <summary>The tile of a candidate's spec.</summary>
    public static PatchTile Of(KernelSpec spec)
    {
        var (m, n, rows, tm) = Slots.Read(spec);
        return new(m, n, rows, tm);
    }

    /// <summary><paramref name="spec"/> (a form of the kernel) in this tile (<see cref="PatchTileConstants.Write"/>).</summary>
    public KernelSpec Specialize(KernelSpec spec, uint subgroupSize) => Slots.Write(spec, M, N, Rows, Tm, subgroupSize);
}
