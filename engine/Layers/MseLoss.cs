using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>Mean squared error, mean((prediction - target)^2) (PyTorch's MSELoss, mean reduction). Inputs: prediction, target (same shape).</summary>
public sealed class MseLoss : Layer
{
    public override string Kind => "mse_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => LossKernels.CheckPair(Kind, inputs);

    internal override void Forward(ForwardPass f) => LossKernels.Forward(f, LossKind.Mse);

    internal override void Backward(BackwardPass b) => LossKernels.Backward(b, LossKind.Mse);

    /// <summary>Elementwise, then a sum over every element: any layout both inputs share (<see cref="LossKernels.Elementwise"/>).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);

    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);
}
