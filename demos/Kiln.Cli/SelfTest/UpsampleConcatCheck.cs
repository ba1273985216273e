namespace Kiln.Cli.SelfTest;

/// <summary>
/// Concat(Upsample(x), skip), which the compiler fuses (the upsample interpolates straight into its channel slice of the
/// concat, and its backward reads the slice of the concat's gradient): the UNets' decoder joins. Forward and the
/// gradient of x against the upsample's and the concat's references composed; nearest and bilinear, random scales.
/// </summary>
internal sealed class UpsampleConcatCheck : KernelCheck
{
    public override string Operation => "upsample_concat";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(1, 32, 12, 10, 2, 16, UpsampleMode.Nearest);
        for (int i = 1; i < count; i++)
            yield return Case(rng.Next(1, 3), rng.Next(1, 6), rng.Next(1, 10), rng.Next(1, 10), rng.Next(1, 4), rng.Next(1, 5),
                i % 2 == 0 ? UpsampleMode.Nearest : UpsampleMode.Bilinear);
    }

    static CheckCase Case(int n, int c, int h, int w, int scale, int skip, UpsampleMode mode)
    {
        int oh = h * scale, ow = w * scale, ctot = c + skip;
        long xLength = (long)n * c * h * w;
        (int I0, int I1, double L) Source(int o, int size)
        {
            double src = Math.Max((o + 0.5) / scale - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(src), size - 1);
            return (i0, Math.Min(i0 + 1, size - 1), src - i0);
        }
        // x (the upsampled input) and then the skip input, one after another, as the runner passes them.
        LinearTerms.Enumerate terms = term =>
        {
            for (int b = 0; b < n; b++)
            for (int ch = 0; ch < ctot; ch++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                long o = At(ctot, oh, ow, b, ch, oy, ox);
                if (ch >= c) { term(o, xLength + At(skip, oh, ow, b, ch - c, oy, ox), -1, 1); continue; }
                if (mode == UpsampleMode.Nearest) { term(o, At(c, h, w, b, ch, oy / scale, ox / scale), -1, 1); continue; }
                var (y0, y1, ly) = Source(oy, h);
                var (x0, x1, lx) = Source(ox, w);
                term(o, At(c, h, w, b, ch, y0, x0), -1, (1 - ly) * (1 - lx));
                term(o, At(c, h, w, b, ch, y0, x1), -1, (1 - ly) * lx);
                term(o, At(c, h, w, b, ch, y1, x0), -1, ly * (1 - lx));
                term(o, At(c, h, w, b, ch, y1, x1), -1, ly * lx);
            }
        };
        var whole = LinearTerms.Reference((long)n * ctot * oh * ow, terms);
        ReferenceFunction reference = (xt, wt, bt, gy) =>
        {
            var r = whole(xt, wt, bt, gy);
            return r with { GradX = r.GradX[..(int)xLength] };
        };
        return new CheckCase($"{mode.ToString().ToLowerInvariant()} n{n} c{c}+{skip} {h}x{w} x{scale}", new Concat(), new Shape(n, c, h, w), reference,
            new[] { new Shape(n, skip, oh, ow) }) { Before = new Upsample(scale, mode) };
    }
}
