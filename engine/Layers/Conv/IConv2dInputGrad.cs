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

    /// <summary>
    /// Whether the registry picks this entry on <paramref name="device"/> by priority (a GPU kernel declines a CPU device
    /// such as lavapipe). <see cref="IKernelEntry.Supports"/> says only whether it runs correctly there, so
    /// CompileOptions.PreferKernels can still force it (tests on lavapipe).
    /// </summary>
    bool PreferredOn(DeviceInfo device) => true;

    void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label);
}
