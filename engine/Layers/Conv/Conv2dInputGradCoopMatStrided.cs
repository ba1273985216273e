using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for strided layers on tensor cores (Precision.Fp16; strides 2 to 4, groups 1), and
/// ConvTranspose2d's forward under Fp16, by output phase (<see cref="PhasedInputGrad"/>): each phase on the patch kernel
/// (conv2d.fwd_coopmat_patch, which takes dilations up to 2) or, tuned against it or named, the cooperative_matrix2
/// convolution (<see cref="Conv2dCoopMat2"/>); their f16 weight packing takes the phase's taps straight from the layer's
/// weight (FLIP).
/// </summary>
internal class Conv2dInputGradCoopMatStrided : PhasedInputGrad
{
    /// <summary>The phases' forward entries, in this entry's layout.</summary>
    protected virtual Conv2dCoopMatPatch Patch { get; } = new();
    protected virtual Conv2dCoopMat2 CoopMat2 { get; } = new();

    public override int Priority => 21;
    public override Precision Arithmetic => Precision.Fp16;
    public override bool Supports(DeviceInfo device) => Patch.Supports(device);

    public override bool Accepts(ConvAttributes a, Shape dy, Shape dx) => Strided(a) && PhasesAccepted(Patch, a, dy, dx);

    /// <summary>
    /// The patch kernel, and where the registry would offer it (device, precision, preferred there or named) the
    /// cooperative_matrix2 convolution (tuned against the patch kernel, or run when named).
    /// </summary>
    protected override IReadOnlyList<IConv2dForward> PhaseEntries(Emitter e)
    {
        var result = new List<IConv2dForward> { Patch };
        if (KernelRegistry.Offered(CoopMat2, e)) result.Add(CoopMat2);
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dInputGradCoopMatStrided"/> over channels-last dY and dX: each phase on the NHWC patch kernel
/// (<see cref="Conv2dCoopMatPatchNhwc"/>) or cooperative_matrix2 convolution (<see cref="Conv2dCoopMat2Nhwc"/>), which
/// write every s-th pixel of the channels-last dX; the phases without taps through conv2d.phase_fill.nhwc. A channels-last
/// plan's strided input gradients and strided transposed convolutions under Fp16.
/// </summary>
internal sealed class Conv2dInputGradCoopMatStridedNhwc : Conv2dInputGradCoopMatStrided
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    protected override Conv2dCoopMatPatch Patch { get; } = new Conv2dCoopMatPatchNhwc();
    protected override Conv2dCoopMat2 CoopMat2 { get; } = new Conv2dCoopMat2Nhwc();
}
