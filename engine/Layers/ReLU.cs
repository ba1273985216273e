using Kiln.Layers;

namespace Kiln;

/// <summary>y = max(x, 0) elementwise.</summary>
public sealed class ReLU : ActivationLayer
{
    public ReLU() : base(Activation.ReLU) { }
    public override string Kind => "relu";
}
