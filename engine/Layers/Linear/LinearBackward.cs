using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Linear's gradient rule: dX = dY W, dW = dY^T X (reducing over the batch), db = column sums of dY. Under f16 activation
/// storage dY, X and dX are f16 and W, dW, db f32: the two products run different variants of the gemm module
/// (<see cref="LinearGemm.StorageVariant"/>), both accumulating in f32. The products run as the forward's does
/// (<see cref="LinearProducts"/>: on tensor cores at Fp16 on a device with cooperative matrices, or the entry named;
/// tuned per shape under CompileOptions.Autotune). dX may leave through the derivative of the activation of the layer
/// before, where the compiler offers it (<see cref="LinearProducts.EmitActivationGradient"/>).
/// </summary>
internal static class LinearBackward
{
    const uint BiasLocal = 64;

    public static void Emit(BackwardPass b, bool hasBias)
    {
        var x = b.Input;
        var w = b.Param("weight");
        var dy = b.GradOutput;
        int batch = x.Shape[0], inF = x.Shape[1], outF = w.Shape[0];
        if (b.GradInput is { } dx)
        {
            var product = new GemmCall(dy, false, w, false, null, dx, batch, inF, outF, Activation.None, 0);
            // Through the activation of the layer before, where offered and the kernel has the variant (ActivationGradient).
            b.ActivatedGradInputs[0] = b.InputActivations[0] is { } g && LinearProducts.EmitActivationGradient(b.Emitter, product, g, $"{b.Name}.bwd_input");
            if (!b.ActivatedGradInputs[0]) LinearProducts.Emit(b.Emitter, product, $"{b.Name}.bwd_input");
        }
        LinearProducts.Emit(b.Emitter, new GemmCall(dy, true, x, false, null, b.GradParam("weight"), outF, inF, batch, Activation.None, 0),
            $"{b.Name}.bwd_weight");
        if (hasBias)
        {
            var spec = new KernelSpec("linear/linear.bwd_bias", KernelSpec.Buffers(2), 8, new[] { (uint)batch, (uint)outF }, BiasLocal);
            b.Emitter.Dispatch(spec, FlatGroups.For(b.Emitter, outF, BiasLocal), PushConstants.Ints(batch, outF), $"{b.Name}.bwd_bias",
                Arg.In(dy), Arg.Out(b.GradParam("bias")));
        }
    }
}
