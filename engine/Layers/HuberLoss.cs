using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Huber loss, mean(h(prediction - target)) with h(d) = 0.5 d² where |d| &lt; delta, else delta (|d| - 0.5 delta)
/// (PyTorch's HuberLoss, mean reduction). Inputs: prediction, target (same shape); both get gradients.
/// </summary>
public sealed class HuberLoss : Layer
{
    /// <summary>Where the loss turns from quadratic to linear; must be positive and finite.</summary>
    public float Delta { get; }

    public HuberLoss(float delta = 1f)
    {
        if (!(delta > 0) || !float.IsFinite(delta)) throw new ArgumentException($"delta must be positive and finite, got {delta}.", nameof(delta));
        Delta = delta;
    }

    public override string Kind => "huber_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Loss2Kernels.CheckPair(Kind, inputs);

    internal override void Forward(ForwardPass f) => Loss2Kernels.HuberForward(f, Delta);

    internal override void Backward(BackwardPass b) => Loss2Kernels.HuberBackward(b, Delta);

    /// <summary>Pointwise, then a mean over every element: any layout both inputs share (<see cref="LossKernels.Elementwise"/>).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);

    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);
}
