using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// What the tensor-core sub-pixel decoder convolutions (<see cref="Conv2dCoopMat2SubPixel"/>,
/// <see cref="Conv2dCoopMatPatchSubPixel"/>) share: a forward of a UNet decoder's 3x3 over a 2x upsample only
/// (<see cref="ConcatInput.SubPixel"/>, at least 16 output channels), never a plain convolution's, run only inside that
/// fusion and only when tuned or named; its candidates are <see cref="ConcatCandidates"/>.
/// </summary>
internal abstract class CooperativeMatrixSubPixelEntry : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public abstract int Priority { get; }
    public bool NeedsTuning => true;
    public bool FusedOnly => true;
    public abstract bool Supports(DeviceInfo device);

    /// <summary>Never a plain convolution's kernel.</summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) => false;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope) =>
        Array.Empty<TuneCandidate>();

    /// <summary>A decoder's 3x3 over one input upsampled 2x (<see cref="ConcatInput.SubPixel"/>), at least 16 output channels.</summary>
    public bool AcceptsConcat(ConvAttributes a, ConcatInput c, Shape y) => c.SubPixel(a) && y[1] >= 16;

    public bool CanRunConcat(ConvAttributes a, ConcatInput c, Shape y) => AcceptsConcat(a, c, y);

    public abstract IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope);
}
