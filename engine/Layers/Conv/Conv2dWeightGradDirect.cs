using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The weight gradient of shaders/conv2d/conv2d.bwd_weight.comp (and conv2d.bwd_weight_taps.comp for one q channel per
/// group): one invocation per register block of weights looping over its share of the batch and pixels, split with an
/// ordered sum when there are few blocks (<see cref="ConvKernels.WeightGrad"/>). Tuned for lavapipe; runs everywhere.
/// </summary>
internal class Conv2dWeightGradDirect : IConv2dWeightGrad
{
    public string Operation => "conv2d.bwd_weight";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;
    /// <summary>
    /// On a GPU the tiled and cooperative-matrix kernels take the layers (a GPU tuner does not time this one: its serial
    /// loops over a few thousand invocations would take long on full-size layers); it stays the fallback there.
    /// </summary>
    public bool PreferredOn(DeviceInfo device) => device.IsCpu;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw) =>
        new[] { ConvKernels.WeightGrad(e, a, plain, shifted, dw) };
}

/// <summary>
/// <see cref="Conv2dWeightGradDirect"/> over channels-last dY and x (conv2d.bwd_weight.nhwc, its blocks kernel for every
/// geometry): the weight gradient of a channels-last training plan (<see cref="CompileOptions.ActivationLayout"/>) on
/// every device.
/// </summary>
internal sealed class Conv2dWeightGradDirectNhwc : Conv2dWeightGradDirect
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
