using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's gradient rule (any fused activation is already undone by the compiler: dY is the pre-activation
/// gradient). dX is the transposed convolution of dY with the same weight, as a gather; dW reduces dY x shifted x
/// over the batch and pixels; db sums dY per channel.
/// </summary>
internal static class Conv2dBackward
{
    public static void Emit(BackwardPass b, ConvAttributes a)
    {
        var w = b.Param("weight");
        if (b.GradInput is { } dx)
            ConvKernels.Gather(b.Emitter, a, b.GradOutput, w, null, dx, Activation.None, 0, $"{b.Name}.bwd_input");
        ConvKernels.WeightGrad(b.Emitter, a, b.GradOutput, b.Input, b.GradParam("weight"), $"{b.Name}.bwd_weight");
        if (a.Bias) ConvKernels.BiasGrad(b.Emitter, b.GradOutput, b.GradParam("bias"), $"{b.Name}.bwd_bias");
    }
}
