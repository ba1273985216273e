using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise difference y = a - b (gradients dy and -dy), with NumPy/ONNX broadcasting (<see cref="BinaryLayer"/>).</summary>
public sealed class Sub : BinaryLayer
{
    public Sub() : base(BinaryOp.Sub) { }
    public override string Kind => "sub";
}
