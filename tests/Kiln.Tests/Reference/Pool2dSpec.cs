namespace Kiln.Tests.Reference;

/// <summary>
/// Shapes of a 2-D pooling without padding (ceil_mode off): x [N, C, H, W], window KH×KW moved by SH, SW.
/// Output size: OH = (H - KH) / SH + 1 (floor), likewise OW; trailing rows and columns a window cannot reach are ignored.
/// </summary>
public sealed record Pool2dSpec(int N, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    /// <summary>Square window, stride equal to the window (PyTorch's default stride).</summary>
    public Pool2dSpec(int n, int c, int h, int w, int kernel) : this(n, c, h, w, kernel, kernel, kernel, kernel) { }

    /// <summary>Output height.</summary>
    public int OH => (H - KH) / SH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W - KW) / SW + 1;
    /// <summary>Elements of x.</summary>
    public int XLength => N * C * H * W;
    /// <summary>Elements of y.</summary>
    public int YLength => N * C * OH * OW;

    /// <summary>Throws unless the window fits and the stride is positive.</summary>
    public void Validate()
    {
        if (KH <= 0 || KW <= 0 || SH <= 0 || SW <= 0) throw new ArgumentException("kernel and stride must be positive");
        if (KH > H || KW > W) throw new ArgumentException($"window {KH}x{KW} larger than input {H}x{W}");
    }

    /// <summary>Flat index of x[n, c, iy, ix] where (n, c) is the plane index p = n*C + c.</summary>
    internal int XIndex(int plane, int iy, int ix) => (plane * H + iy) * W + ix;

    /// <summary>Flat index of y[n, c, oy, ox] where (n, c) is the plane index p = n*C + c.</summary>
    internal int YIndex(int plane, int oy, int ox) => (plane * OH + oy) * OW + ox;
}
