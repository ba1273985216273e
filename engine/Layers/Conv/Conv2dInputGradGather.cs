using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient as the gather of shaders/conv_transpose2d/conv_transpose2d.fwd.comp (register blocks of
/// channels x columns per invocation, read straight from global memory; <see cref="ConvKernels.Gather"/>). Any stride,
/// dilation and groups; tuned for lavapipe, runs everywhere.
/// </summary>
internal class Conv2dInputGradGather : IConv2dInputGrad
{
    public string Operation => "conv2d.bwd_input";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;

    public void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label) =>
        ConvKernels.Gather(e, a, dy, w, null, dx, Activation.None, 0, label);
}

/// <summary>
/// <see cref="Conv2dInputGradGather"/> over channels-last dY and dX (conv_transpose2d.fwd.nhwc, the same sums in the same
/// order): a channels-last training plan's input gradient of the layers <see cref="Conv2dInputGradFlippedNhwc"/> does not
/// take (strides above 1), and ConvTranspose2d's channels-last forward where that entry does not run it.
/// </summary>
internal sealed class Conv2dInputGradGatherNhwc : Conv2dInputGradGather
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
