namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.interpolate with an integer scale_factor s, x [N, C, H, W] → y [N, C, sH, sW].
/// "nearest": y[oy, ox] = x[oy / s, ox / s]. "bilinear" (align_corners=False): the source coordinate of output row oy is
/// max((oy + 0.5) / s - 0.5, 0); with y0 = floor of it, y1 = min(y0 + 1, H - 1) and λ = coordinate - y0, the row is
/// (1 - λ) x[y0] + λ x[y1]; columns likewise, the two blends multiplied. "bilinear_align_corners" (align_corners=True):
/// the same blend from the coordinate oy * (H - 1) / (sH - 1) (0 when sH = 1).
/// </summary>
public static class RefUpsample
{
    /// <summary>x [N, C, H, W] → y [N, C, H*scale, W*scale]; mode is "nearest", "bilinear" (align_corners=False) or "bilinear_align_corners".</summary>
    public static double[] Forward(double[] x, int n, int c, int h, int w, int scale, string mode)
    {
        Check.Length(x, n * c * h * w, nameof(x));
        var y = new double[n * c * h * scale * w * scale];
        ForEachTerm(n * c, h, w, scale, mode, (xi, yi, weight) => y[yi] += weight * x[xi]);
        return y;
    }

    /// <summary>Given dL/dy: each output scatters gradY times its interpolation weights back to its source pixels.</summary>
    public static double[] Backward(double[] gradY, int n, int c, int h, int w, int scale, string mode)
    {
        Check.Length(gradY, n * c * h * scale * w * scale, nameof(gradY));
        var gx = new double[n * c * h * w];
        ForEachTerm(n * c, h, w, scale, mode, (xi, yi, weight) => gx[xi] += weight * gradY[yi]);
        return gx;
    }

    /// <summary>Calls <paramref name="term"/>(x index, y index, weight) for every (source, output) pair of y = sum weight·x.</summary>
    static void ForEachTerm(int planes, int h, int w, int scale, string mode, Action<int, int, double> term)
    {
        Check.Positive(scale, nameof(scale));
        int oh = h * scale, ow = w * scale;
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int yi = (p * oh + oy) * ow + ox;
                    switch (mode)
                    {
                        case "nearest":
                            term((p * h + oy / scale) * w + ox / scale, yi, 1.0);
                            break;
                        case "bilinear":
                        case "bilinear_align_corners":
                            bool corners = mode == "bilinear_align_corners";
                            var (y0, y1, ly) = Source(oy, scale, h, corners);
                            var (x0, x1, lx) = Source(ox, scale, w, corners);
                            // Four terms even when y0 == y1 (last row): their weights then add up, as in PyTorch.
                            term((p * h + y0) * w + x0, yi, (1 - ly) * (1 - lx));
                            term((p * h + y0) * w + x1, yi, (1 - ly) * lx);
                            term((p * h + y1) * w + x0, yi, ly * (1 - lx));
                            term((p * h + y1) * w + x1, yi, ly * lx);
                            break;
                        default:
                            throw new ArgumentException($"unknown upsample mode '{mode}'", nameof(mode));
                    }
                }
    }

    /// <summary>PyTorch's area_pixel_compute_source_index: the two neighbours and the blend.</summary>
    static (int I0, int I1, double Lambda) Source(int dst, int scale, int size, bool alignCorners)
    {
        int outSize = size * scale;
        double src = alignCorners
            ? (outSize > 1 ? dst * (size - 1.0) / (outSize - 1.0) : 0)
            : Math.Max((1.0 / scale) * (dst + 0.5) - 0.5, 0); // clamped at 0, never at the far edge
        int i0 = (int)Math.Floor(src);
        int i1 = Math.Min(i0 + 1, size - 1);
        return (i0, i1, src - i0);
    }
}
