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

    /// <summary>Input pixels the kernel's taps span along each axis: (K - 1) * dilation + 1.</summary>
    internal (int H, int W) KernelSpan => ((Kernel.H - 1) * Dilation.H + 1, (Kernel.W - 1) * Dilation.W + 1);

    /// <summary>The input rows and columns that a tile of <paramref name="rows"/> x <paramref name="cols"/> output pixels reads: its patch with the halo.</summary>
    internal (int Rows, int Cols) InputPatch(int rows, int cols) => ((rows - 1) * Stride.H + KernelSpan.H, (cols - 1) * Stride.W + KernelSpan.W);
}
