using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for strided layers on the GPU's f32 units (strides 2 to 4, groups 1), and ConvTranspose2d's
/// forward, by output phase (<see cref="PhasedInputGrad"/>), each phase a stride-1 convolution on the implicit GEMM
/// (<see cref="Conv2dImplicitGemm"/>, its tiles timed per phase where the compile tunes) over the phase's taps, which
/// conv2d.flip_weight cuts from the layer's weight turned and swapped. In place of the gather (Conv2dInputGradGather:
/// one invocation per few outputs, reading dY and the weight from global memory), which ran the fp32 autoencoder's
/// strided 128- and 256-channel gradients and transposed convolutions at 1.3 to 4.8 TFLOP/s on an H200; layers with
/// fewer than 16 channels on either side (a network's first or last layer) keep the gather.
/// </summary>
internal sealed class Conv2dInputGradPhases : PhasedInputGrad
{
    static readonly Conv2dImplicitGemm Gemm = new();

    public override int Priority => 19;
    public override bool Supports(DeviceInfo device) => Gemm.Supports(device);

    public override bool Accepts(ConvAttributes a, Shape dy, Shape dx) =>
        Strided(a) && dx[1] >= 16 && dy[1] >= 16 && PhasesAccepted(Gemm, a, dy, dx);

    protected override IReadOnlyList<IConv2dForward> PhaseEntries(Emitter e) => new IConv2dForward[] { Gemm };
}
