using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>Mean absolute error, mean(|prediction - target|) (PyTorch's L1Loss, mean reduction). Inputs: prediction, target (same shape).</summary>
public sealed class L1Loss : Layer
{
    public override string Kind => "l1_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => LossKernels.CheckPair(Kind, inputs);

    internal override void Forward(ForwardPass f) => LossKernels.Forward(f, LossKind.L1);

    internal override void Backward(BackwardPass b) => LossKernels.Backward(b, LossKind.L1);

    /// <summary>Elementwise, then a sum over every element: any layout both inputs share (<see cref="LossKernels.Elementwise"/>).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);

    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);
}
