using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>GELU in its exact form, as PyTorch's default nn.GELU(): y = x * Φ(x), Φ the standard normal CDF (via erf).</summary>
public sealed class Gelu : Layer
{
    public override string Kind => "gelu";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    internal override void Forward(ForwardPass f) => ElementwiseKernels.Gelu(f);

    /// <summary>Pointwise: each element is mapped where it lies, in any layout.</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Pointwise (gelu/gelu.bwd).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => ElementwiseKernels.GeluBackward(b);

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
