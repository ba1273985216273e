using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>A registered implementation of conv2d forward (with fused bias and activation).</summary>
internal interface IConv2dForward : IKernelEntry
{
    /// <summary>Whether this kernel handles the layer's geometry and shapes (specialised kernels have limits).</summary>
    bool Accepts(ConvAttributes a, Shape x, Shape y) => true;

    void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label);
}
