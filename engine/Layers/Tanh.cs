using Kiln.Layers;

namespace Kiln;

/// <summary>y = tanh(x) elementwise.</summary>
public sealed class Tanh : ActivationLayer
{
    public Tanh() : base(Activation.Tanh) { }
    public override string Kind => "tanh";
}
