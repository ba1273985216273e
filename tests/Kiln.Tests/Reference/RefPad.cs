namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.pad of [N, C, H, W] by (left, right, top, bottom), mode "constant" (zeros) or "replicate",
/// to [N, C, top + H + bottom, left + W + right].
/// </summary>
public static class RefPad
{
    /// <summary>The input pixel (row, column) output (oy, ox) copies, or null for a zero (constant mode outside x).</summary>
    static (int, int)? Source(int oy, int ox, int h, int w, int left, int top, bool replicate)
    {
        int iy = oy - top, ix = ox - left;
        if (replicate) return (Math.Clamp(iy, 0, h - 1), Math.Clamp(ix, 0, w - 1));
        return iy >= 0 && iy < h && ix >= 0 && ix < w ? (iy, ix) : null;
    }

    /// <summary>The padded tensor, [n, c, top + h + bottom, left + w + right] flattened.</summary>
    public static double[] Forward(double[] x, int n, int c, int h, int w, int left, int right, int top, int bottom, bool replicate)
    {
        Check.Length(x, n * c * h * w, nameof(x));
        int oh = top + h + bottom, ow = left + w + right;
        var y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    if (Source(oy, ox, h, w, left, top, replicate) is (int iy, int ix))
                        y[(p * oh + oy) * ow + ox] = x[(p * h + iy) * w + ix];
        return y;
    }

    /// <summary>Given dL/dy: each input pixel receives the sum of the gradients of the output pixels that copy it.</summary>
    public static double[] Backward(double[] gradY, int n, int c, int h, int w, int left, int right, int top, int bottom, bool replicate)
    {
        int oh = top + h + bottom, ow = left + w + right;
        Check.Length(gradY, n * c * oh * ow, nameof(gradY));
        var gx = new double[n * c * h * w];
        for (int p = 0; p < n * c; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    if (Source(oy, ox, h, w, left, top, replicate) is (int iy, int ix))
                        gx[(p * h + iy) * w + ix] += gradY[(p * oh + oy) * ow + ox];
        return gx;
    }
}
