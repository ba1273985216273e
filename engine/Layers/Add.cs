using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Elementwise sum of two inputs, y = a + b (a residual join), with NumPy/ONNX broadcasting: shapes right-aligned,
/// each pair of dimensions equal or one of them 1. A broadcast input's gradient is dy summed over the dimensions it
/// was broadcast along; inputs of the same shape take a plain elementwise pass.
/// </summary>
public sealed class Add : Layer
{
    public override string Kind => "add";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Broadcast.Result(Kind, inputs[0], inputs[1]);

    internal override void Forward(ForwardPass f)
    {
        if (f.Inputs[0].Shape == f.Inputs[1].Shape)
            f.Emitter.AddScaled(f.Inputs[0], 1f, f.Inputs[1], 1f, f.Output, $"{f.Name}.fwd");
        else
            BroadcastKernels.Forward(f.Emitter, BinaryOp.Add, f.Inputs[0], f.Inputs[1], f.Output, $"{f.Name}.fwd");
    }

    /// <summary>Inputs of one shape: elementwise, in any layout (a broadcast indexes NCHW).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => inputs[0] == inputs[1];

    /// <summary>Inputs of one shape: each gradient is a copy of dY.</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => inputs[0] == inputs[1];

    internal override void Backward(BackwardPass b)
    {
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            if (d.Shape == b.GradOutput.Shape) b.Emitter.Unary(Activation.None, 0f, b.GradOutput, d, $"{b.Name}.bwd{i}");
            else BroadcastKernels.Backward(b.Emitter, BinaryOp.Add, i, b.Inputs[0], b.Inputs[1], b.GradOutput, d, $"{b.Name}.bwd{i}");
        }
    }
}
