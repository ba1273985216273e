using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_coopmat2_tensor.comp: the stride-1 convolution (dilation 1, groups 1, NCHW) as an implicit
/// GEMM on workgroup-scope cooperative_matrix2 matrices whose operands are loaded through tensor addressing: per tap and
/// BK input channels the packed f16 weight's block and the input's slice of TH x TW pixels of one image, zero past the
/// image and the channels by the tensor layout's clamp, the driver staging both through shared memory; the bias, the
/// activation and the edge tiles' stores through the same layouts. Its .concat variant reads a decoder's two inputs,
/// the upsampled one through a tensor layout of blocks (<see cref="ConcatConv2d"/>); its .pool variant an encoder's
/// convolution and max pool (<see cref="ConvPool2d"/>), and its .pool.keep form the unpooled output too
/// (<see cref="ConvForward.EmitWithPool"/>); its .dact variant a stride-1 input gradient through the activation of the
/// layer before (<see cref="ActivationGradient"/>), and its .unpool variant one that writes the gradient of the max pool
/// the layer reads (<see cref="PoolGradient"/>, <see cref="TakesPoolGradient"/>). Where <see cref="Conv2dCoopMat2"/>
/// gathers the im2col slice by hand (the form lavapipe runs), this one leaves it to the driver, the way the plain
/// cooperative_matrix2 GEMM reached 290 to 315 TFLOP/s on an H200 (../shared/TOOLCHAIN.md) where the gathering kernels
/// ran the UNets' layers at 45 to 65.
/// Devices with tensor addressing and workgroup scope only (NVIDIA; lavapipe of Mesa 26 has neither), the .concat variant
/// block loads too (<see cref="ConcatCandidates"/>), so no test here
/// runs it: plan tests specialize and validate its modules for a description of the H200, and it needs tuning
/// (<see cref="NeedsTuning"/>): the tuner times it against the other kernels and rejects it for a shape where its
/// result disagrees with the plain f32 kernel's, and <c>kiln selftest</c> checks it against that kernel on the GPU.
/// </summary>
internal class Conv2dCoopMat2Tensor : CooperativeMatrixEntry, IConv2dForward
{
    /// <summary>The module of <see cref="Layout"/>: conv2d.fwd_coopmat2_tensor, or its ".nhwc" variant.</summary>
    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd_coopmat2_tensor", Layout);

    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    public bool NeedsTuning => true;
    /// <summary>The NCHW module's .concat variant; the channels-last one has none.</summary>
    public bool ReadsConcat => Layout == TensorLayout.Nchw;

    /// <summary>The .concat variants, where the device has block loads (<see cref="DeviceInfo.CooperativeMatrix2BlockLoads"/>):
    /// they read an upsampled input through a tensor layout with a block size. Elsewhere none: the tuner times the other
    /// entries' .concat variants (named untuned, this entry runs on the concatenation written).</summary>
    public IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope) =>
        ReadsConcat && e.Device.CooperativeMatrix2BlockLoads
            ? IConv2dForward.ConcatVariants(Candidates(e, a, c.StandIn, w, bias, y, act, slope), c)
            : Enumerable.Empty<TuneCandidate>();

    /// <summary>
    /// The .pool variant (an encoder's convolution and max pool, <see cref="ConvPool2d"/>; its .pool.keep form, NCHW, where
    /// the convolution's output is read elsewhere too): tiles of even rows and columns
    /// whose f16 result tile (<see cref="PoolSharedBytes"/>) fits the device's shared memory beside what workgroup scope
    /// reserves.
    /// </summary>
    public bool Pools(TuneCandidate candidate, DeviceInfo device)
    {
        if (Layout != TensorLayout.Nchw || candidate.Spec.Module != Module) return false;
        var c = candidate.Spec.Constants;
        int bm = (int)c[11], bn = (int)c[12], tw = (int)c[15];
        return tw % 2 == 0 && bn / tw % 2 == 0 && PoolSharedBytes(bm, bn) + device.CooperativeMatrix2ReservedSharedMemory <= device.MaxSharedMemoryBytes;
    }

    /// <summary>The .unpool variant (NCHW): tiles whose f16 result tile fits the device's shared memory beside what workgroup
    /// scope reserves.</summary>
    public bool TakesPoolGradient(TuneCandidate candidate, DeviceInfo device) =>
        Layout == TensorLayout.Nchw && candidate.Spec.Module == Module
        && PoolSharedBytes((int)candidate.Spec.Constants[11], (int)candidate.Spec.Constants[12]) + device.CooperativeMatrix2ReservedSharedMemory
            <= device.MaxSharedMemoryBytes;

    /// <summary>The .pool, .pool.keep and .unpool variants' shared memory: the BM x BN result tile as f16, rows padded by 8.</summary>
    internal static long PoolSharedBytes(int bm, int bn) => 2L * bm * (bn + 8);

    /// <summary>Workgroup tiles (BM output channels, BN pixels, BK input channels a step, invocations), the 32-channel ones
    /// for the UNets' thinner layers; 128 x 256 with 64 channels a step is the plain GEMM's fastest tile on the H200
    /// (315 TFLOP/s, ../shared/TOOLCHAIN.md, where 32 a step reached 290 to 301). Five: each is a pipeline the tuner
    /// builds and times per shape, within its budget.</summary>
    static readonly CoopMat2Tile[] WorkgroupTiles =
    {
        new(64, 256, 32, 256), new(64, 128, 32, 128), new(32, 256, 32, 128), new(128, 256, 64, 256), new(128, 128, 32, 256),
    };

    public bool Supports(DeviceInfo device) =>
        CooperativeMatrix2Kernels.TensorAddressed(device) && Tiles(device).Any();

    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Stride == (1, 1) && a.Dilation == (1, 1) && y[1] >= 16;

    /// <summary>The tiles that fit the device (<see cref="CooperativeMatrix2Kernels.TensorTiles"/>).</summary>
    internal static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device) =>
        CooperativeMatrix2Kernels.TensorTiles(device, WorkgroupTiles);

    /// <summary>Pixel columns of a tile (TW): 32, or 16 for images at most 16 wide.</summary>
    internal static int Columns(int width) => width <= 16 ? 16 : 32;

    /// <summary>One candidate per tile that fits (the channel tile that covers Cout with the least padding first), each with
    /// the patch kernel's weight packing, Cout padded to BM and Cin to BK.</summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        int taps = a.Kernel.H * a.Kernel.W, tw = Columns(ow);
        var result = new List<TuneCandidate>();
        foreach (var t in Tiles(e.Device).OrderBy(t => (cout + t.BM - 1) / t.BM * t.BM).ThenBy(t => t.BM))
        {
            int th = t.BN / tw;
            long tiles = (long)n * ((oh + th - 1) / th) * ((ow + tw - 1) / tw);
            if (th < 1 || tiles > e.Device.MaxWorkgroupCount[0] || (cout + t.BM - 1) / t.BM > e.Device.MaxWorkgroupCount[1]) continue;
            int cip = (cin + t.BK - 1) / t.BK * t.BK, cop = (cout + t.BM - 1) / t.BM * t.BM;
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, 1u, 1u, KernelSpec.Word(a.Padding.H), KernelSpec.Word(a.Padding.W), 1u, 1u,
                bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads, (uint)tw,
            };
            var spec = new KernelSpec(Module, KernelSpec.Buffers(4), 36, constants, (uint)t.Threads);
            var groups = ((uint)tiles, (uint)((cout + t.BM - 1) / t.BM), 1u);
            result.Add(new TuneCandidate($"tensor_{t}", spec, groups, PushConstants.Ints(n, cin, cout, h, wd, oh, ow, cop, cip))
            {
                Prepare = Conv2dCoopMatPatch.Pack(e, cout, cin, taps, cop, cip),
            });
        }
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dCoopMat2Tensor"/> over channels-last activations (conv2d.fwd_coopmat2_tensor.nhwc: x and y [N,H,W,C],
/// their slices read and written channels outermost through a tensor view): each operand row is channels of one pixel,
/// 16-byte aligned at every tap where Cin is a multiple of 8 (NCHW rows start one element off at the side taps). The
/// tensor-addressed convolution of an NHWC plan (<see cref="CompileOptions.ActivationLayout"/>); no .concat, .pool or
/// .dact variant. Never run yet, like the NCHW form.
/// </summary>
internal sealed class Conv2dCoopMat2TensorNhwc : Conv2dCoopMat2Tensor
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
