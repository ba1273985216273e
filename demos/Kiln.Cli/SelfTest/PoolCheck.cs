namespace Kiln.Cli.SelfTest;

/// <summary>MaxPool2d and AvgPool2d forward and backward: random windows and strides (no padding: the layers have none).</summary>
internal sealed class PoolCheck : KernelCheck
{
    public override string Operation => "pool2d";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        // A UNet encoder's pools, whose rows the kernels take 4 outputs (4 windows backward) at a time.
        yield return Max(1, 32, 24, 32, 2, 2);
        yield return Avg(1, 32, 24, 32, 2, 2);
        for (int i = 2; i < count; i++)
        {
            int k = rng.Next(1, 4), s = rng.Next(1, 4), h = rng.Next(k, 16), w = rng.Next(k, 16), n = rng.Next(1, 3), c = rng.Next(1, 6);
            if (k == s) (h, w) = (h / k * k, w / k * k); // non-overlapping windows must tile the input exactly
            yield return i % 2 == 0 ? Max(n, c, h, w, k, s) : Avg(n, c, h, w, k, s);
        }
    }

    static (int Oh, int Ow) Out(int h, int w, int k, int s) => ((h - k) / s + 1, (w - k) / s + 1);

    static CheckCase Avg(int n, int c, int h, int w, int k, int s)
    {
        var (oh, ow) = Out(h, w, k, s);
        LinearTerms.Enumerate terms = term =>
        {
            for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
                term(At(c, oh, ow, b, ch, oy, ox), At(c, h, w, b, ch, oy * s + ky, ox * s + kx), -1, 1.0 / (k * k));
        };
        return new CheckCase($"avg n{n} c{c} {h}x{w} k{k} s{s}", new AvgPool2d(k, s), new Shape(n, c, h, w),
            LinearTerms.Reference((long)n * c * oh * ow, terms));
    }

    // Random inputs have no ties, so the maximum (and where its gradient goes) is unambiguous.
    static CheckCase Max(int n, int c, int h, int w, int k, int s)
    {
        var (oh, ow) = Out(h, w, k, s);
        return new CheckCase($"max n{n} c{c} {h}x{w} k{k} s{s}", new MaxPool2d(k, s), new Shape(n, c, h, w), (x, _, _, gy) =>
        {
            var y = new double[(long)n * c * oh * ow];
            var gx = new double[x.Length];
            for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                long best = -1;
                for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                {
                    long i = At(c, h, w, b, ch, oy * s + ky, ox * s + kx);
                    if (best < 0 || x[i] > x[best]) best = i;
                }
                long o = At(c, oh, ow, b, ch, oy, ox);
                y[o] = x[best];
                gx[best] += gy[o];
            }
            return new ReferenceResult(y, gx, null, null);
        });
    }
}
