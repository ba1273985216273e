using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A UNet decoder's 3x3 convolution of Concat(Upsample(a, 2x nearest), b) by output phase with the direct kernel's
/// blocking (shaders/conv2d/conv2d.fwd_subpixel.comp): the sub-pixel decomposition of <see cref="Conv2dCoopMat2SubPixel"/>
/// in f32 arithmetic, for every device and both precisions (f16 storage through its .f16 variant). Its weight is
/// rearranged each step by conv2d.subpixel_weight.comp (FORM 2: a's channels as 2x2 taps per phase, summed in f32, then
/// b's 3x3), the candidate's prepare pass. a's channels cost 4/9 of their multiply-adds; results differ from the 3x3
/// form's by f32 rounding. It never computes a plain convolution, needs tuning (timed against the .concat kernels and
/// checked against the plain f32 kernel by the tuner), and runs untuned only when named.
/// </summary>
internal class Conv2dDirectSubPixel : IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    /// <summary>Above <see cref="Conv2dDirect"/>: where both are named, a decoder's convolution takes this one.</summary>
    public int Priority => 1;
    public bool NeedsTuning => true;
    public bool FusedOnly => true;
    public bool Supports(DeviceInfo device) => true;

    /// <summary>Never a plain convolution's kernel.</summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) => false;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope) =>
        Array.Empty<TuneCandidate>();

    /// <summary>A decoder's 3x3 over one input upsampled 2x (<see cref="ConcatInput.SubPixel"/>).</summary>
    public bool AcceptsConcat(ConvAttributes a, ConcatInput c, Shape y) => c.SubPixel(a);

    public bool CanRunConcat(ConvAttributes a, ConcatInput c, Shape y) => AcceptsConcat(a, c, y);

    /// <summary>
    /// The first two tiles of <see cref="Conv2dDirect.Blocks"/> over a phase's columns (the default, then 4 columns), not
    /// all six: every concat conv of a UNet is timed with these beside the .concat kernels' candidates, and each pipeline
    /// costs its first compile.
    /// </summary>
    public IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope)
    {
        if (!AcceptsConcat(a, c, y.Shape)) return Enumerable.Empty<TuneCandidate>();
        var (n, cout, oh, ow) = y.Shape.Nchw;
        int cin = c.Full[1];
        var (ca, a0) = c.Upsampled;
        int weights = checked(cout * (ca * 16 + (cin - ca) * 9));
        var prepare = new TunePrepare(
            new KernelSpec("conv2d/conv2d.subpixel_weight", KernelSpec.Buffers(2), 4, new[] { 2u, (uint)cin, (uint)cout, (uint)a0, (uint)ca }, Emitter.ElementwiseLocal),
            e.ElementwiseGroups(weights), PushConstants.Words((uint)weights), Input: 1, weights, ElementType.F32);
        var module = ActivationLayouts.Module("conv2d/conv2d.fwd_subpixel", Layout);
        var push = PushConstants.Ints(n, cin, cout, oh, ow);
        return Conv2dDirect.Blocks(ow / 2, cout).Take(2).Select(block =>
        {
            var constants = new[] { bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)block.Px, (uint)block.Co };
            var spec = new KernelSpec(module, KernelSpec.Buffers(4), 20, constants, ConvKernels.FlatLocal);
            long invocations = (long)n * ((cout + block.Co - 1) / block.Co) * oh * 2 * ((ow / 2 + block.Px - 1) / block.Px);
            var candidate = new TuneCandidate($"subpixel_px{block.Px}co{block.Co}", spec, ConvKernels.Groups(e, invocations, ConvKernels.FlatLocal), push)
                { Prepare = prepare };
            return ConcatReads.Variant(candidate, c, "") with { Flops = c.SubPixelFlops(y.Shape) };
        }).ToList();
    }
}

/// <summary><see cref="Conv2dDirectSubPixel"/> over channels-last activations (conv2d.fwd_subpixel.nhwc).</summary>
internal sealed class Conv2dDirectSubPixelNhwc : Conv2dDirectSubPixel
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
