using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of Conv2d's input gradient (operation "conv2d.bwd_input"): dx = the transposed
/// convolution of dy with the layer's weight [Cout, Cin/groups, KH, KW], written, not accumulated.
/// </summary>
internal interface IConv2dInputGrad : IKernelEntry
{
    /// <summary>Whether this kernel handles the layer's geometry and shapes (specialised kernels have limits).</summary>
    bool Accepts(ConvAttributes a, Shape dy, Shape dx) => true;


    void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label);

    /// <summary>
    /// Emits dx multiplied by the derivative of the activation <paramref name="g"/> (<see cref="ActivationGradient"/>) where
    /// this entry's kernel can take it in its epilogue, and says so; false, with nothing emitted, where it can't (the
    /// default).
    /// </summary>
    bool EmitActivated(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, ActivationGradient g, string label) => false;

    /// <summary>
    /// Emits, in place of dx (the gradient of the max pool that is the layer's input, never written), the pool's input
    /// gradient <see cref="PoolGradient.Gradient"/> where this entry's kernel can take the pool's gradient in its epilogue
    /// (<see cref="PoolGradient"/>), and says so; false, with nothing emitted, where it can't (the default).
    /// </summary>
    bool EmitUnpooled(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, PoolGradient pool, string label) => false;
}
