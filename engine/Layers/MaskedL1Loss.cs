using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Absolute error |prediction - target| averaged over the elements a mask selects: loss = sum(mask * err) / max(sum(expanded mask), 1).
/// Inputs: prediction, target (same shape), mask (the prediction's shape, or [N,1,...] broadcast over the
/// channels). The mask is a constant: its gradient is zero.
/// </summary>
public sealed class MaskedL1Loss : Layer
{
    public override string Kind => "masked_l1_loss";
    public override int? InputCount => 3;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        LossKernels.CheckMasked(Kind, inputs);
        return new Shape(1);
    }

    internal override void Forward(ForwardPass f) => LossKernels.MaskedForward(f, LossKind.L1);

    internal override void Backward(BackwardPass b) => LossKernels.MaskedBackward(b, LossKind.L1);

    /// <summary>Pointwise, the mask's element found from the prediction's layout: any layout the inputs share
    /// (<see cref="LossKernels.Elementwise"/>).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);

    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);
}
