using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise product y = a * b (gradients dy * b and dy * a), with NumPy/ONNX broadcasting (<see cref="BinaryLayer"/>).</summary>
public sealed class Mul : BinaryLayer
{
    public Mul() : base(BinaryOp.Mul) { }
    public override string Kind => "mul";
}
