using Kiln.Graph;

namespace Kiln;

/// <summary>[N, ...] to [N, product of the rest] (PyTorch's Flatten with start_dim 1): a view, no kernel runs.</summary>
public sealed class Flatten : Layer
{
    public override string Kind => "flatten";
    internal override bool IsView => true;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank < 2) throw Mismatch($"flatten takes [N, ...] with at least two dimensions, got {x}.");
        return new Shape(x[0], (int)(x.Elements / x[0]));
    }

    internal override void Forward(ForwardPass f) { }

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInputs[0] != null) b.GradInputs[0] = b.Emitter.Alias(b.GradOutput, b.Inputs[0].Shape, $"{b.Name}.grad_in");
    }
}
