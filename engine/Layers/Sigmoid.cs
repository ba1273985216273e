using Kiln.Layers;

namespace Kiln;

/// <summary>y = 1 / (1 + exp(-x)) elementwise.</summary>
public sealed class Sigmoid : ActivationLayer
{
    public Sigmoid() : base(Activation.Sigmoid) { }
    public override string Kind => "sigmoid";
}
