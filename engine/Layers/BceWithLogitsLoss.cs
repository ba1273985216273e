using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Binary cross-entropy of logits, mean(max(x, 0) - x t + log(1 + exp(-|x|))) (PyTorch's BCEWithLogitsLoss, mean
/// reduction, no weight or pos_weight). Inputs: logits x, target t (same shape, t usually in [0, 1]).
/// Gradients: (sigmoid(x) - t) / count for the logits, -x / count for the target.
/// </summary>
public sealed class BceWithLogitsLoss : Layer
{
    public override string Kind => "bce_with_logits_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Loss2Kernels.CheckPair(Kind, inputs, "logits");

    internal override void Forward(ForwardPass f) => Loss2Kernels.BceForward(f);

    internal override void Backward(BackwardPass b) => Loss2Kernels.BceBackward(b);

    /// <summary>Pointwise, then a mean over every element: any layout both inputs share (<see cref="LossKernels.Elementwise"/>).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);

    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => LossKernels.Elementwise(inputs);
}
