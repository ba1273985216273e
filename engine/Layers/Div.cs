using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise quotient of two inputs of the same shape: y = a / b (gradients dy / b and -dy * a / b²; IEEE results where b = 0).</summary>
public sealed class Div : BinaryLayer
{
    public Div() : base(BinaryOp.Div) { }
    public override string Kind => "div";
}
