using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_gemm.comp: the convolution forward as an implicit GEMM on the GPU's f32 units (groups 1, any
/// kernel, stride, padding and dilation): output channels by flattened output pixels of the whole batch, the weight and
/// the input's im2col slices staged through shared memory, a block of up to 8 x 8 outputs per invocation. For the layers
/// the direct kernel serves poorly on a GPU, many channels at few pixels (an autoencoder's strided layers, a UNet's
/// deepest levels), and for the output phases of strided input gradients and transposed convolutions
/// (<see cref="Conv2dInputGradPhases"/>). Chosen where the compile tunes (the GPU default), timed per shape against the
/// other entries' kernels (ConvForward); on lavapipe only when named.
/// </summary>
internal sealed class Conv2dImplicitGemm : IConv2dForward
{
    const int Depth = 16;        // BK: the reduction's slice per step
    const int MaxGroups = 65535; // workgroups along x and y that every device takes

    /// <summary>
    /// The tiles: output channels (BM) by pixels (BN) per workgroup, and per invocation (TM x TN). A layer's candidates are
    /// the first <see cref="MaxCandidates"/> that fit it, in this order (the first its untuned default).
    /// </summary>
    internal static readonly (int BM, int BN, int TM, int TN)[] Tiles =
    {
        (64, 64, 4, 4), (128, 128, 8, 8), (64, 128, 4, 8), (128, 64, 8, 4), (32, 64, 2, 4), (64, 32, 4, 2), (32, 32, 4, 4),
    };

    /// <summary>Candidates per layer: every one costs a pipeline compile and its timing when the compile tunes. Under Fp16 on
    /// tensor cores, where the cooperative-matrix kernels are the ones to beat, only the default tile.</summary>
    const int MaxCandidates = 4;

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 7;
    public bool Supports(DeviceInfo device) => device.MaxWorkgroupInvocations >= 256 && Tiles.Any(t => SharedBytes(t) <= device.MaxSharedMemoryBytes);
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    /// <summary>Not yet measured on a GPU against the direct and tiled kernels: it runs where the compile tunes, timed against them.</summary>
    public bool NeedsTuning => true;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) => a.Groups == 1 && Fitting(a, y).Any();

    /// <summary>Shared memory a tile takes: two weight slices (rows padded by one) and two im2col slices.</summary>
    static long SharedBytes((int BM, int BN, int TM, int TN) t) => 2L * Depth * (t.BM + 1 + t.BN) * sizeof(float);

    /// <summary>The tiles worth timing for the layer: none much larger than its channels or pixels, within the workgroup counts.</summary>
    static IEnumerable<(int BM, int BN, int TM, int TN)> Fitting(ConvAttributes a, Shape y)
    {
        var (n, cout, oh, ow) = y.Nchw;
        long pixels = (long)n * oh * ow;
        return Tiles.Where(t => (t.BM <= 32 || t.BM / 2 < cout) && (t.BN <= 32 || t.BN / 2 < pixels)
                                && (pixels + t.BN - 1) / t.BN <= MaxGroups && (cout + t.BM - 1) / t.BM <= MaxGroups);
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        var geometry = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, KernelSpec.Word(a.Padding.H), KernelSpec.Word(a.Padding.W),
            (uint)a.Dilation.H, (uint)a.Dilation.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
        };
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        long pixels = (long)n * oh * ow;
        int count = e.Precision == Precision.Fp16 && CooperativeMatrixKernels.Usable(e.Device) ? 1 : MaxCandidates;
        return Fitting(a, y.Shape).Where(t => SharedBytes(t) <= e.Device.MaxSharedMemoryBytes).Take(count).Select(t =>
        {
            int threads = t.BM / t.TM * (t.BN / t.TN);
            var constants = geometry.Concat(new[] { (uint)t.BM, (uint)t.BN, (uint)t.TM, (uint)t.TN, (uint)Depth }).ToArray();
            var spec = new KernelSpec("conv2d/conv2d.fwd_gemm", KernelSpec.Buffers(4), 28, constants, (uint)threads);
            var groups = ((uint)((pixels + t.BN - 1) / t.BN), (uint)((cout + t.BM - 1) / t.BM), 1u);
            return new TuneCandidate($"{t.BM}x{t.BN}t{t.TM}x{t.TN}", spec, groups, push);
        }).ToList();
    }

    /// <summary>
    /// The candidates that compute every output phase of the strided layer <paramref name="a"/>'s input gradient of
    /// <paramref name="dy"/> (or of a transposed convolution, with <paramref name="bias"/> and <paramref name="act"/>) in
    /// one dispatch (the .phases variant: phase z in the workgroups' z), each tile sized for the largest phase, the weight
    /// prepared with every phase's taps (<see cref="Conv2dInputGradFlipped.FlipPhasesPrepare"/>).
    /// </summary>
    internal IReadOnlyList<TuneCandidate> PhaseCandidates(Emitter e, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act, float slope)
    {
        var (n, cout, oh, ow) = dx.Shape.Nchw;
        var (_, cin, h, wd) = dy.Shape.Nchw;
        var largest = Value.StandIn(new Shape(n, cout, (oh + a.Stride.H - 1) / a.Stride.H, (ow + a.Stride.W - 1) / a.Stride.W), dx.ElementType, dx.Layout,
            "the largest phase");
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        var prepare = Conv2dInputGradFlipped.FlipPhasesPrepare(e, a, dx.Shape);
        return Candidates(e, a, dy, w, bias, largest, act, slope).Select(c => c with
        {
            Spec = c.Spec with { Module = c.Spec.Module + ".phases" },
            Groups = (c.Groups.X, c.Groups.Y, (uint)(a.Stride.H * a.Stride.W)),
            Push = push,
            Prepare = prepare,
        }).ToList();
    }
}
