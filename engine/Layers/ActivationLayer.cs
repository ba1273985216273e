using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>An elementwise activation (shaders/elementwise/unary*.comp); the fusion pass folds it into a conv or linear before it.</summary>
public abstract class ActivationLayer : Layer, IActivationLayer
{
    private protected ActivationLayer(Activation activation, float slope = 0f)
    {
        Activation = activation;
        Slope = slope;
    }

    public Activation Activation { get; }
    public float Slope { get; }

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    internal override void Forward(ForwardPass f) => f.Emitter.Unary(Activation, Slope, f.Input, f.Output, $"{f.Name}.fwd");

    /// <summary>Pointwise: each element is mapped where it lies, in any layout.</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Pointwise (elementwise/unary.bwd).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is { } dx) b.Emitter.UnaryBackward(Activation, Slope, b.Output, b.GradOutput, dx, $"{b.Name}.bwd");
    }

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
