using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Upsampling of [N, C, H, W] by an integer scale factor to [N, C, H*scale, W*scale] (PyTorch's Upsample /
/// interpolate with scale_factor): nearest, bilinear with align_corners=False, or bilinear with align_corners=True
/// (<see cref="UpsampleMode"/>). Forward and backward; the backward gathers (no atomics).
/// </summary>
public sealed class Upsample : Layer
{
    public Upsample(int scale = 2, UpsampleMode mode = UpsampleMode.Nearest)
    {
        if (scale < 1) throw new ArgumentException($"upsample: scale must be an integer >= 1, got {scale}.");
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"upsample: unknown mode {mode}.");
        Scale = scale;
        Mode = mode;
    }

    public int Scale { get; }
    public UpsampleMode Mode { get; }
    public override string Kind => "upsample";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4) throw Mismatch($"upsample takes [N,C,H,W], got {x}.");
        var (n, c, h, w) = x.Nchw;
        if ((long)h * Scale * w * Scale * n * c > Shape.MaxElements)
            throw Mismatch($"upsample: {x} scaled by {Scale} has more than {Shape.MaxElements} elements.");
        return new Shape(n, c, h * Scale, w * Scale);
    }

    internal override void Forward(ForwardPass f) => UpsampleKernels.Forward(f, Mode, Scale);

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Channels-last gradient (upsample.bwd.nhwc).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => UpsampleKernels.Backward(b, Mode, Scale);

    /// <summary>Shrinks the block by the scale; bilinear interpolation reaches one more old pixel. Align-corners sampling
    /// depends on the image size, so it has no bounded field.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r)
    {
        if (Mode == UpsampleMode.BilinearAlignCorners) return null;
        if (s % Scale != 0) throw new NotSupportedException("upsampling past the input's resolution; tiled inference needs an image-to-image network.");
        return (s / Scale, r + s - s / Scale + (Mode == UpsampleMode.Nearest ? 0 : s));
    }
}
