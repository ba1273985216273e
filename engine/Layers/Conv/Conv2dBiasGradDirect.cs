using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// The bias gradient of shaders/conv2d/conv2d.bwd_bias.comp: one invocation per channel (and chunk of images) adding
/// serially (<see cref="ConvKernels.BiasGrad"/>). Tuned for lavapipe; runs everywhere.
/// </summary>
internal class Conv2dBiasGradDirect : IConv2dBiasGrad
{
    public string Operation => "conv2d.bwd_bias";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;

    public void Emit(Emitter e, Value dy, Value db, string label) => ConvKernels.BiasGrad(e, dy, db, label);
}

/// <summary><see cref="Conv2dBiasGradDirect"/> over a channels-last dY (conv2d.bwd_bias.nhwc).</summary>
internal sealed class Conv2dBiasGradDirectNhwc : Conv2dBiasGradDirect
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
