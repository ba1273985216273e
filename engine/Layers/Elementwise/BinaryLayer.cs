using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// An elementwise op of two inputs with NumPy/ONNX broadcasting (<see cref="Mul"/>, <see cref="Sub"/>, <see cref="Div"/>):
/// the shapes are right-aligned and each pair of dimensions must be equal or one of them 1. Inputs of the same shape
/// take a plain elementwise pass; a broadcast input's gradient is summed over the dimensions it was broadcast along.
/// </summary>
public abstract class BinaryLayer : Layer
{
    private protected BinaryLayer(BinaryOp op) => Op = op;

    internal BinaryOp Op { get; }
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Broadcast.Result(Kind, inputs[0], inputs[1]);

    internal override void Forward(ForwardPass f)
    {
        if (f.Inputs[0].Shape == f.Inputs[1].Shape) ElementwiseKernels.Binary(f, Op);
        else BroadcastKernels.Forward(f.Emitter, Op, f.Inputs[0], f.Inputs[1], f.Output, $"{f.Name}.fwd");
    }

    /// <summary>Inputs of one shape: elementwise, in any layout (a broadcast indexes NCHW).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => inputs[0] == inputs[1];

    /// <summary>Inputs of one shape: elementwise (binary/binary.bwd).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => inputs[0] == inputs[1];

    internal override void Backward(BackwardPass b)
    {
        if (b.Inputs[0].Shape == b.Inputs[1].Shape)
        {
            ElementwiseKernels.BinaryBackward(b, Op);
            return;
        }
        for (int which = 0; which < 2; which++)
            if (b.GradInputs[which] is { } d)
                BroadcastKernels.Backward(b.Emitter, Op, which, b.Inputs[0], b.Inputs[1], b.GradOutput, d, $"{b.Name}.bwd{which}");
    }

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
