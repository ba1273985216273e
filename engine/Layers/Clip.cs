using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// y = min(max(x, min), max) elementwise (torch.clamp). The gradient passes where min &lt;= x &lt;= max, ties at the
/// bounds included, as torch.clamp's backward; 0 elsewhere. Either bound may be infinite.
/// </summary>
public sealed class Clip : Layer
{
    public Clip(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
            throw new ArgumentException($"clip: need min <= max (and no NaN), got min {min}, max {max}.");
        Min = min;
        Max = max;
    }

    public float Min { get; }
    public float Max { get; }
    public override string Kind => "clip";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    internal override void Forward(ForwardPass f) => ElementwiseKernels.Clip(f, Min, Max);

    /// <summary>Pointwise: each element is mapped where it lies, in any layout.</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Pointwise (clip/clip.bwd).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => ElementwiseKernels.ClipBackward(b, Min, Max);

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
