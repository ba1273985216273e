using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise product of two inputs of the same shape: y = a * b (gradients dy * b and dy * a).</summary>
public sealed class Mul : BinaryLayer
{
    public Mul() : base(BinaryOp.Mul) { }
    public override string Kind => "mul";
}
