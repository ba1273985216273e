using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Softmax cross-entropy with probability targets: -(1/N) sum_n sum_c t[n,c] log_softmax(x[n,:])[c] (PyTorch's
/// CrossEntropyLoss with class-probability targets, mean reduction, no weight or label smoothing).
/// Inputs: logits x [N, C] and target t [N, C] of the same shape, each row a one-hot vector or class probabilities
/// (class indices are not accepted: one-hot them). Rows not summing to 1 are taken as they are, as PyTorch does.
/// Gradients: (softmax(x) sum_c t - t) / N for the logits, -log_softmax(x) / N for the target.
/// </summary>
public sealed class SoftmaxCrossEntropyLoss : Layer
{
    public override string Kind => "softmax_cross_entropy_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Rank != 2) throw Mismatch($"{Kind}: logits {inputs[0]} must be [N, C].");
        return Loss2Kernels.CheckPair(Kind, inputs, "logits");
    }

    internal override void Forward(ForwardPass f) => Loss2Kernels.SoftmaxCeForward(f);

    internal override void Backward(BackwardPass b) => Loss2Kernels.SoftmaxCeBackward(b);
}
