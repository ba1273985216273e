using Kiln.Graph;

namespace Kiln;

/// <summary>
/// A fixed tensor as a graph node: its output is its one parameter, "value", of the given shape (batch
/// dimension included), whatever its input holds. The input only places the node in the graph (any node will
/// do). Imported models use it for constant operands (an ONNX initializer added to an activation). Trainable
/// when the value is a learned tensor whose gradient is wanted; the input gets a zero gradient.
/// </summary>
public sealed class Constant : Layer
{
    public Constant(Shape shape, bool trainable = false)
    {
        if (shape.Rank == 0) throw new ArgumentException("constant: needs a shape of rank 1 or more.");
        Shape = shape;
        Trainable = trainable;
    }

    public Shape Shape { get; }
    public bool Trainable { get; }
    public override string Kind => "constant";

    /// <summary>Starts at zero: the owner uploads the value after compiling.</summary>
    public override IReadOnlyList<ParameterSpec> Parameters => new[] { new ParameterSpec("value", Shape, ParameterInit.Zeros, Trainable: Trainable) };

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Shape;

    internal override void Forward(ForwardPass f) => f.Emitter.Unary(Activation.None, 0, f.Param("value"), f.Output, $"{f.Name}.fwd");

    internal override void Backward(BackwardPass b)
    {
        // The compiler sums each input gradient it asks for: the anchor input's share is zero.
        if (b.GradInput is { } dx) b.Emitter.Fill(dx, 0f, $"{b.Name}.bwd_anchor");
        if (Trainable) b.Emitter.Unary(Activation.None, 0, b.GradOutput, b.GradParam("value"), $"{b.Name}.bwd_value");
    }
}
