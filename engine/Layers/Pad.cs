using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Padding of [N, C, H, W] to [N, C, top + H + bottom, left + W + right] (F.pad(x, (left, right, top, bottom))) with
/// zeros or by replicating the edge. Replicate's gradient sums, into each edge pixel, the gradients of its copies.
/// </summary>
public sealed class Pad : Layer
{
    public Pad(int left, int right, int top, int bottom, PadMode mode = PadMode.Zero)
    {
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new ArgumentException($"pad: padding must be >= 0, got left {left}, right {right}, top {top}, bottom {bottom}.");
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"pad: unknown mode {mode}.");
        Left = left;
        Right = right;
        Top = top;
        Bottom = bottom;
        Mode = mode;
    }

    public int Left { get; }
    public int Right { get; }
    public int Top { get; }
    public int Bottom { get; }
    public PadMode Mode { get; }
    public override string Kind => "pad";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4) throw Mismatch($"pad takes [N,C,H,W], got {x}.");
        var (n, c, h, w) = x.Nchw;
        long oh = (long)Top + h + Bottom, ow = (long)Left + w + Right;
        if ((double)oh * ow * n * c > Shape.MaxElements)
            throw Mismatch($"pad: {x} padded by ({Left}, {Right}, {Top}, {Bottom}) has more than {Shape.MaxElements} elements.");
        return new Shape(n, c, (int)oh, (int)ow);
    }

    internal override void Forward(ForwardPass f) => ElementwiseKernels.Pad(f, this);

    internal override void Backward(BackwardPass b) => ElementwiseKernels.PadBackward(b, this);
}
