using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for strided layers on the GPU's f32 units (strides 2 to 4, groups 1), and ConvTranspose2d's
/// forward, by output phase (<see cref="PhasedInputGrad"/>): every phase a stride-1 convolution over its taps, all of them
/// in one dispatch of the implicit GEMM's .phases variant (<see cref="Conv2dImplicitGemm.PhaseCandidates"/>, its tiles
/// timed where the compile tunes), the phases' taps cut from the layer's weight, turned and swapped, by one
/// conv2d.flip_weight pass. In place of the gather (Conv2dInputGradGather:
/// one invocation per few outputs, reading dY and the weight from global memory), which ran the fp32 autoencoder's
/// strided 128- and 256-channel gradients and transposed convolutions at 1.3 to 4.8 TFLOP/s on an H200; layers with
/// fewer than 16 channels on either side (a network's first or last layer) keep the gather.
/// </summary>
internal class Conv2dInputGradPhases : PhasedInputGrad
{
    /// <summary>The implicit GEMM in this entry's layout.</summary>
    protected virtual Conv2dImplicitGemm Gemm { get; } = new();

    public override int Priority => 19;
    public override bool Supports(DeviceInfo device) => Gemm.Supports(device);

    public override bool Accepts(ConvAttributes a, Shape dy, Shape dx) =>
        Strided(a) && dx[1] >= 16 && dy[1] >= 16 && PhasesAccepted(Gemm, a, dy, dx);

    /// <summary>
    /// Every phase in one dispatch of the implicit GEMM's .phases variant (<see cref="Conv2dImplicitGemm.PhaseCandidates"/>,
    /// its tiles timed where the compile tunes): the phases write disjoint pixels of dX, so none waits on a barrier for
    /// another, and a phase without taps is the kernel's own (act(bias), or zero). With <paramref name="g"/>, through the
    /// .phases.dact variant.
    /// </summary>
    internal override bool EmitPhases(Emitter e, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act, float slope, string label,
        ActivationGradient? g = null)
    {
        // With g, act is the activation whose derivative the .dact epilogue applies (a phase without taps: zero).
        var candidates = Gemm.PhaseCandidates(e, a, dy, w, bias, dx, act, slope);
        if (candidates.Count == 0) throw new GraphException($"{label}: no tile of the implicit GEMM fits {dy.Shape} -> {dx.Shape} on {e.Device.Name}.");
        var (args, shape) = AllPhasesTuning(a, dy, w, bias, dx, act);
        // With g, null where no candidate has the .dact variant.
        if (ChooseAmong(e, "conv2d.bwd_input.phases", new IConv2dForward[] { Gemm }, _ => candidates, args, shape, label, g) is not { } chosen) return false;
        DispatchAllPhases(e, chosen, a, dy, w, bias, dx, label, g);
        return true;
    }
}

/// <summary>
/// <see cref="Conv2dInputGradPhases"/> over channels-last dY and dX (conv2d.fwd_gemm.nhwc.phases and its .dact form): a
/// channels-last plan's strided input gradients and strided transposed convolutions on a GPU's f32 units.
/// </summary>
internal sealed class Conv2dInputGradPhasesNhwc : Conv2dInputGradPhases
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    protected override Conv2dImplicitGemm Gemm { get; } = new Conv2dImplicitGemmNhwc();
}
