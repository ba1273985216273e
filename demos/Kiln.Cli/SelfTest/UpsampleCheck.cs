namespace Kiln.Cli.SelfTest;

/// <summary>Upsample forward and backward, nearest and bilinear (PyTorch's align_corners=False), random integer scales.</summary>
internal sealed class UpsampleCheck : KernelCheck
{
    public override string Operation => "upsample";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        // A UNet decoder's upsample, 4 elements an invocation forward and backward (widths multiples of 4).
        yield return Case(1, 32, 12, 16, 2, UpsampleMode.Nearest);
        yield return Case(1, 8, 6, 8, 2, UpsampleMode.Bilinear);
        for (int i = 2; i < count; i++)
            yield return Case(rng.Next(1, 3), rng.Next(1, 6), rng.Next(1, 12), rng.Next(1, 12), rng.Next(1, 4), i % 2 == 0 ? UpsampleMode.Nearest : UpsampleMode.Bilinear);
    }

    static CheckCase Case(int n, int c, int h, int w, int scale, UpsampleMode mode) =>
        new($"{mode.ToString().ToLowerInvariant()} n{n} c{c} {h}x{w} x{scale}", new Upsample(scale, mode), new Shape(n, c, h, w),
            LinearTerms.Reference((long)n * c * h * scale * w * scale, term => Terms(n, c, h, w, scale, mode, c, 0, term)));

    /// <summary>
    /// The terms of upsampling x [n, c, h, w] (nearest, or bilinear as PyTorch's interpolate with align_corners=False)
    /// into channels <paramref name="c0"/>.. of an output of <paramref name="outChannels"/> channels (a concat's slice).
    /// </summary>
    internal static void Terms(int n, int c, int h, int w, int scale, UpsampleMode mode, int outChannels, int c0, Action<long, long, long, double> term)
    {
        int oh = h * scale, ow = w * scale;
        // Source coordinate of an output pixel along one axis, as PyTorch's interpolate computes it.
        (int I0, int I1, double L) Source(int o, int size)
        {
            double src = Math.Max((o + 0.5) / scale - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(src), size - 1);
            return (i0, Math.Min(i0 + 1, size - 1), src - i0);
        }
        for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            long o = At(outChannels, oh, ow, b, c0 + ch, oy, ox);
            if (mode == UpsampleMode.Nearest)
            {
                term(o, At(c, h, w, b, ch, oy / scale, ox / scale), -1, 1);
                continue;
            }
            var (y0, y1, ly) = Source(oy, h);
            var (x0, x1, lx) = Source(ox, w);
            term(o, At(c, h, w, b, ch, y0, x0), -1, (1 - ly) * (1 - lx));
            term(o, At(c, h, w, b, ch, y0, x1), -1, (1 - ly) * lx);
            term(o, At(c, h, w, b, ch, y1, x0), -1, ly * (1 - lx));
            term(o, At(c, h, w, b, ch, y1, x1), -1, ly * lx);
        }
    }
}
