using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise quotient y = a / b (gradients dy / b and -dy * a / b²; IEEE results where b = 0), with NumPy/ONNX broadcasting (<see cref="BinaryLayer"/>).</summary>
public sealed class Div : BinaryLayer
{
    public Div() : base(BinaryOp.Div) { }
    public override string Kind => "div";
}
