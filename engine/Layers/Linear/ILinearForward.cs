using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>A registered implementation of linear forward, y = act(x W^T + b), operation "linear.fwd".</summary>
internal interface ILinearForward : IKernelEntry
{
    void Emit(Emitter e, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label);
}
