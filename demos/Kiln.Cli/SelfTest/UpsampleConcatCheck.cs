namespace Kiln.Cli.SelfTest;

/// <summary>
/// Concat(Upsample(x), skip), which the compiler fuses (the upsample interpolates straight into its channel slice of the
/// concat, and its backward reads the slice of the concat's gradient): the UNets' decoder joins. Forward and the
/// gradients of x and the skip input against the upsample's and the concat's references composed; nearest and bilinear,
/// random scales.
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
        // x (the upsampled input) and then the skip input, one after another, as the runner passes them.
        LinearTerms.Enumerate terms = term =>
        {
            UpsampleCheck.Terms(n, c, h, w, scale, mode, ctot, 0, term);
            for (int b = 0; b < n; b++)
            for (int ch = 0; ch < skip; ch++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                term(At(ctot, oh, ow, b, c + ch, oy, ox), xLength + At(skip, oh, ow, b, ch, oy, ox), -1, 1);
        };
        return new CheckCase($"{mode.ToString().ToLowerInvariant()} n{n} c{c}+{skip} {h}x{w} x{scale}", new Concat(), new Shape(n, c, h, w),
            LinearTerms.Reference((long)n * ctot * oh * ow, terms), new[] { new Shape(n, skip, oh, ow) })
        {
            Before = new Upsample(scale, mode),
            Fused = true,
        };
    }
}
