using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Concatenation along the channels (dim 1, PyTorch's torch.cat(dim=1)) of two or more inputs [N, C_i, ...]
/// whose other dimensions all match: the UNet skip join. One copy dispatch per input, forward and backward.
/// </summary>
public sealed class Concat : Layer
{
    public override string Kind => "concat";
    public override int? InputCount => null;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs.Count < 2) throw Mismatch($"concat needs at least two inputs, got {inputs.Count} ({string.Join(", ", inputs)}).");
        var first = inputs[0];
        if (first.Rank < 2) throw Mismatch($"concat joins along dim 1 of [N,C,...] inputs, got {first}.");
        int channels = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var s = inputs[i];
            if (s.Rank != first.Rank)
                throw Mismatch($"concat: inputs differ in rank: {first} vs {s} (input {i}).");
            if (s[0] != first[0])
                throw Mismatch($"concat: inputs differ in N: {first} vs {s} (input {i}).");
            for (int d = 2; d < s.Rank; d++)
                if (s[d] != first[d])
                    throw Mismatch($"concat: inputs differ in {(s.Rank == 4 ? "H,W" : "spatial dims")}: {first} vs {s} (input {i}).");
            channels += s[1];
        }
        if ((long)channels * (first.Elements / first[1]) > Shape.MaxElements)
            throw Mismatch($"concat: the result of {string.Join(", ", inputs)} has more than {Shape.MaxElements} elements.");
        return first.With(1, channels);
    }

    internal override void Forward(ForwardPass f) => ConcatKernels.Forward(f);

    /// <summary>Along the channels of 4-D inputs: a copy per pixel's channel block.</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => inputs.All(s => s.Rank == 4);

    /// <summary>Channels-last gradient: each input's channels copied out of every pixel's (concat.copy).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => inputs.All(s => s.Rank == 4);

    internal override void Backward(BackwardPass b) => ConcatKernels.Backward(b);

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
