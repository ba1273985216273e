using Kiln.Graph;

namespace Kiln;

/// <summary>Elementwise sum of two inputs of the same shape (a residual join): y = a + b.</summary>
public sealed class Add : Layer
{
    public override string Kind => "add";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0] != inputs[1]) throw Mismatch($"add: inputs differ in shape: {inputs[0]} vs {inputs[1]}.");
        return inputs[0];
    }

    internal override void Forward(ForwardPass f) => f.Emitter.AddScaled(f.Inputs[0], 1f, f.Inputs[1], 1f, f.Output, $"{f.Name}.fwd");

    internal override void Backward(BackwardPass b)
    {
        for (int i = 0; i < 2; i++)
            if (b.GradInputs[i] is { } d) b.Emitter.Unary(Activation.None, 0f, b.GradOutput, d, $"{b.Name}.bwd{i}");
    }
}
