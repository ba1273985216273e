using Kiln.Layers;

namespace Kiln;

/// <summary>Elementwise difference of two inputs of the same shape: y = a - b (gradients dy and -dy).</summary>
public sealed class Sub : BinaryLayer
{
    public Sub() : base(BinaryOp.Sub) { }
    public override string Kind => "sub";
}
