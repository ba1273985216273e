using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_coopmat2.comp: the convolution as an implicit GEMM on VK_NV_cooperative_matrix2 matrices
/// (fp16 operands, f32 accumulation) under <see cref="Precision.Fp16"/>: each workgroup's BM x BN tile of the output
/// (channels by pixels) is one workgroup-scope accumulator that the driver maps onto its subgroups and tensor cores, the
/// weight packed to f16 by conv2d.pack_weight_f16.comp (the patch kernel's <see cref="TunePrepare"/>, so the stride-1
/// input gradient reads it turned and swapped the same way: <see cref="Conv2dInputGradFlipped"/>) and loaded straight
/// from global memory, the input's im2col slice gathered into shared memory a step ahead (its .concat variant gathers
/// from a decoder's two inputs: <see cref="ConcatConv2d"/>; its .pool variant orders each tile's pixels by the windows
/// of the 2x2 max pool that follows and writes only the maxima: <see cref="ConvPool2d"/>). Groups of 1, any kernel,
/// stride and dilation, at least 16 output channels.
/// It needs tuning (<see cref="NeedsTuning"/>): only CompileOptions.Autotune runs it, timed against the other kernels
/// and checked against the plain f32 kernel's result for each shape (the tuner rejects a candidate that disagrees), so
/// an untuned plan never depends on it. Where the device has no workgroup scope but flexible dimensions (lavapipe of
/// Mesa 26) the same kernel runs as its .subgroup variant, subgroup-scope matrices in a one-subgroup workgroup, and
/// only when named (CompileOptions.PreferKernels): how the tests check its arithmetic. Its workgroup-scope form has not
/// run on a GPU yet.
/// </summary>
internal class Conv2dCoopMat2 : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 9;
    public bool NeedsTuning => true;
    public bool ReadsConcat => true;
    /// <summary>Every candidate of this entry has a .pool variant (its tile's pixels ordered by the pool's windows).</summary>
    public bool Pools(TuneCandidate candidate, DeviceInfo device) =>
        candidate.Spec.Module == ActivationLayouts.Module(Module, Layout) || candidate.Spec.Module == ActivationLayouts.Module(Module + ".subgroup", Layout);

    const string Module = "conv2d/conv2d.fwd_coopmat2";
    /// <summary>The shader's REG_MAX and CPT_MAX: staged values and pixel columns per invocation, at most.</summary>
    const int RegMax = 64, ColumnsMax = 8;
    /// <summary>f16 of padding per shared row (the shader's PAD).</summary>
    const int Pad = 8;

    /// <summary>Workgroup-scope tiles (NVIDIA: 128 or 256 invocations), largest channel tile last.</summary>
    static readonly CoopMat2Tile[] WorkgroupTiles =
    {
        new(32, 128, 32, 128), new(64, 128, 32, 128), new(64, 128, 32, 256), new(64, 256, 32, 256), new(128, 128, 32, 256),
    };

    /// <summary>Subgroup-scope tiles, in units of the subgroup size S (8 on lavapipe): S x ... as (BM, BN, BK) / S.</summary>
    static readonly (int M, int N, int K)[] SubgroupTiles = { (2, 4, 2), (4, 4, 2), (2, 8, 2) };

    public bool Supports(DeviceInfo device) => CooperativeMatrix2Kernels.Usable(device) && Tiles(device, Layout).Any();

    public bool Accepts(ConvAttributes a, Shape x, Shape y) => a.Groups == 1 && y[1] >= 16;

    /// <summary>The shader's shared memory: one array for the B slice and, after the reduction, the f16 result tile, rows
    /// padded (channel-major, or pixel-major in the .nhwc variant).</summary>
    internal static long SharedBytes(CoopMat2Tile t, TensorLayout layout = TensorLayout.Nchw) => layout == TensorLayout.Nhwc
        ? 2L * t.BN * (Math.Max(t.BK, t.BM) + Pad)
        : 2L * Math.Max(t.BK, t.BM) * (t.BN + Pad);

    /// <summary>The tiles that fit the device (<see cref="CooperativeMatrix2Kernels.Tiles"/>) and the gather: whole shares of
    /// pixel columns and staged rows per invocation (the shader's CPT and RPT; under .nhwc, runs of 8 channels, BK / 8
    /// invocations a pixel), within its registers.</summary>
    internal static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device, TensorLayout layout = TensorLayout.Nchw) =>
        CooperativeMatrix2Kernels.Tiles(device, WorkgroupTiles, SubgroupTiles, t => SharedBytes(t, layout), t => layout == TensorLayout.Nhwc
            ? t.BK % 8 == 0 && t.Threads % (t.BK / 8) == 0 && Columns(t) is var c && (c == 1 || t.BN % (t.Threads / (t.BK / 8)) == 0) && c <= ColumnsMax && 8L * c <= RegMax
            : (t.BN >= t.Threads ? t.BN % t.Threads == 0 && t.BN / t.Threads <= ColumnsMax : t.Threads % t.BN == 0 && t.BK % (t.Threads / t.BN) == 0)
              && (long)t.BK * t.BN / t.Threads <= RegMax);

    /// <summary>Pixel columns per invocation under .nhwc (the shader's CPT there): BN over the pixels a pass of the workgroup stages.</summary>
    static int Columns(CoopMat2Tile t) => Math.Max(1, t.BN / (t.Threads / (t.BK / 8)));

    /// <summary>
    /// One candidate per tile that fits (the channel tile that covers Cout with the least padding first), each with its
    /// weight packing: Cout padded to the tile's BM, Cin to its BK.
    /// </summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        int cout = y.Shape[1], cin = x.Shape[1], taps = a.Kernel.H * a.Kernel.W;
        return Tiled(e, a, Layout, x.Shape, y.Shape, bias, act, slope, 1, cin, (cop, cip) => Conv2dCoopMatPatch.Pack(e, cout, cin, taps, cop, cip));
    }

    /// <summary>
    /// The candidates of <see cref="Candidates"/> for the kernel's module in <paramref name="layout"/>: one per tile that
    /// fits, the channel tile that covers Cout with the least padding first; the output's pixels split into
    /// <paramref name="phases"/> equal grids, one per z (the .subpixel variant's 4), the weight packed by
    /// <paramref name="pack"/> for the tile's (COP, CIP), Cout padded to BM and <paramref name="packedChannels"/> to BK.
    /// </summary>
    internal static IReadOnlyList<TuneCandidate> Tiled(Emitter e, ConvAttributes a, TensorLayout layout, Shape x, Shape y, Value? bias,
        Activation act, float slope, int phases, int packedChannels, Func<int, int, TunePrepare> pack)
    {
        var (n, cin, h, wd) = x.Nchw;
        var (_, cout, oh, ow) = y.Nchw;
        long pixels = (long)n * oh * ow / phases;
        var module = ActivationLayouts.Module(CooperativeMatrix2Kernels.Module(e.Device, Module), layout);
        var result = new List<TuneCandidate>();
        foreach (var t in Tiles(e.Device, layout).OrderBy(t => (cout + t.BM - 1) / t.BM * t.BM).ThenBy(t => t.BM))
        {
            long tiles = (pixels + t.BN - 1) / t.BN;
            if (tiles > e.Device.MaxWorkgroupCount[0] || (cout + t.BM - 1) / t.BM > e.Device.MaxWorkgroupCount[1]) continue;
            int cip = (packedChannels + t.BK - 1) / t.BK * t.BK, cop = (cout + t.BM - 1) / t.BM * t.BM;
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
                (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads,
            };
            var spec = new KernelSpec(module, KernelSpec.Buffers(4), 36, constants, (uint)t.Threads);
            var groups = ((uint)tiles, (uint)((cout + t.BM - 1) / t.BM), (uint)phases);
            result.Add(new TuneCandidate($"coopmat2_{t}", spec, groups, PushConstants.Ints(n, cin, cout, h, wd, oh, ow, cop, cip)) { Prepare = pack(cop, cip) });
        }
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dCoopMat2"/> over channels-last activations (conv2d.fwd_coopmat2.nhwc with its .pool and .concat
/// variants, and their .subgroup forms): the step's B slice is staged from runs of 8 consecutive channels of a pixel,
/// pixel-major in shared memory, or, for a tile inside one output row whose taps all fall inside the image, loaded
/// straight from x as a column-major matrix (f16, Cin a multiple of BK); the result tile is written channels-fastest.
/// Tuning-only, as the NCHW entry; the
/// tensor-core convolution an NHWC plan (<see cref="CompileOptions.ActivationLayout"/>) times on a coopmat2 device.
/// </summary>
internal sealed class Conv2dCoopMat2Nhwc : Conv2dCoopMat2
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
