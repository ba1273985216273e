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
internal class Conv2dImplicitGemm : IConv2dForward
{
    const int MaxGroups = 65535; // workgroups along x and y that every device takes

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 7;
    public bool Supports(DeviceInfo device) => TiledGemm.Runs(device.MaxSharedMemoryBytes, device.MaxWorkgroupInvocations);
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    /// <summary>Not yet measured on a GPU against the direct and tiled kernels: it runs where the compile tunes, timed against them.</summary>
    public bool NeedsTuning => true;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) => a.Groups == 1 && Fitting(y).Any();

    /// <summary>The tiles (<see cref="TiledGemm"/>) worth timing for the layer: output channels by the batch's output pixels, within
    /// <paramref name="sharedBytes"/> and the workgroup counts.</summary>
    static IEnumerable<(int BM, int BN, int TM, int TN)> Fitting(Shape y, long sharedBytes = long.MaxValue)
    {
        var (n, cout, oh, ow) = y.Nchw;
        return TiledGemm.Fitting(cout, (long)n * oh * ow, sharedBytes, MaxGroups, MaxGroups);
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
        // Under Fp16 on tensor cores, where the cooperative-matrix kernels are the ones to beat, only the default tile.
        int count = e.Precision == Precision.Fp16 && CooperativeMatrixKernels.Usable(e.Device) ? 1 : TiledGemm.MaxCandidates;
        return Fitting(y.Shape, e.Device.MaxSharedMemoryBytes).Take(count).Select(t =>
        {
            int threads = TiledGemm.Threads(t);
            var constants = geometry.Concat(new[] { (uint)t.BM, (uint)t.BN, (uint)t.TM, (uint)t.TN, (uint)TiledGemm.Depth }).ToArray();
            var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.fwd_gemm", y.Layout), KernelSpec.Buffers(4), 28, constants, (uint)threads);
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

/// <summary>
/// <see cref="Conv2dImplicitGemm"/> over channels-last activations (conv2d.fwd_gemm.nhwc, with its .dact and .phases
/// forms: the same products in the same order, x read and y written through KILN_ACT_INDEX): an NHWC plan's f32 implicit
/// GEMM, and the strided input gradients' by phase (<see cref="Conv2dInputGradPhasesNhwc"/>), timed where the compile
/// tunes as the NCHW entry is.
/// </summary>
internal sealed class Conv2dImplicitGemmNhwc : Conv2dImplicitGemm
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
