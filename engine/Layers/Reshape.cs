using Kiln.Graph;

namespace Kiln;

/// <summary>
/// Reshapes each batch item: [N, ...] to [N, shape...], the target given without the batch dimension (one
/// entry may be -1, inferred). new Reshape(32, 7, 7) maps [N, 1568] to [N, 32, 7, 7]. A view, no kernel runs.
/// </summary>
public sealed class Reshape : Layer
{
    readonly int[] shape;

    public Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0) throw new ArgumentException("reshape: the target shape (without the batch) needs at least one dimension.");
        if (shape.Any(d => d == 0 || d < -1)) throw new ArgumentException($"reshape: dimensions must be positive or -1, got [{string.Join(",", shape)}].");
        if (shape.Count(d => d == -1) > 1) throw new ArgumentException($"reshape: only one dimension may be -1, got [{string.Join(",", shape)}].");
        this.shape = (int[])shape.Clone();
    }

    /// <summary>The target shape without the batch dimension, as given (-1 unresolved).</summary>
    public IReadOnlyList<int> Target => shape;
    public override string Kind => "reshape";
    internal override bool IsView => true;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        string target = $"[N,{string.Join(",", shape)}]";
        if (x.Rank < 1) throw Mismatch($"reshape: input {x} has no batch dimension.");
        long per = x.Elements / x[0];
        long known = 1;
        foreach (var d in shape) if (d != -1) known *= d;
        var dims = new int[shape.Length + 1];
        dims[0] = x[0];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] != -1) { dims[i + 1] = shape[i]; continue; }
            if (known > per || per % known != 0)
                throw Mismatch($"reshape: can't view {x} ({per} elements per item) as {target}.");
            dims[i + 1] = (int)(per / known);
        }
        long product = 1;
        for (int i = 1; i < dims.Length; i++) product *= dims[i];
        if (product != per) throw Mismatch($"reshape: can't view {x} ({per} elements per item) as {target}.");
        return new Shape(dims);
    }

    internal override void Forward(ForwardPass f) { }

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInputs[0] != null) b.GradInputs[0] = b.Emitter.Alias(b.GradOutput, b.Inputs[0].Shape, $"{b.Name}.grad_in");
    }
}
