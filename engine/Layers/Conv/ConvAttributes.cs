namespace Kiln;

/// <summary>Attributes shared by Conv2d and ConvTranspose2d.</summary>
public sealed record ConvAttributes(int InChannels, int OutChannels, (int H, int W) Kernel, (int H, int W) Stride,
    (int H, int W) Padding, (int H, int W) Dilation, int Groups, bool Bias, (int H, int W) OutputPadding = default)
{
    /// <summary>Convolution output size along axis 0 (height) or 1 (width).</summary>
    public int OutSize(int input, int axis)
    {
        var (k, s, p, d) = axis == 0 ? (Kernel.H, Stride.H, Padding.H, Dilation.H) : (Kernel.W, Stride.W, Padding.W, Dilation.W);
        return (input + 2 * p - d * (k - 1) - 1) / s + 1;
    }
}
