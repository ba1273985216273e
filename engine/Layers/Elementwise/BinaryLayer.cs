using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>An elementwise op of two inputs of the same shape (no broadcasting): <see cref="Mul"/>, <see cref="Sub"/>, <see cref="Div"/>.</summary>
public abstract class BinaryLayer : Layer
{
    private protected BinaryLayer(BinaryOp op) => Op = op;

    internal BinaryOp Op { get; }
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0] != inputs[1]) throw Mismatch($"{Kind}: inputs differ in shape: {inputs[0]} vs {inputs[1]}.");
        return inputs[0];
    }

    internal override void Forward(ForwardPass f) => ElementwiseKernels.Binary(f, Op);

    internal override void Backward(BackwardPass b) => ElementwiseKernels.BinaryBackward(b, Op);
}
