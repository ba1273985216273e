namespace Kiln.Cli.SelfTest;

/// <summary>
/// A UNet decoder's convolution, Conv2d 3x3 (padding 1) over Concat(Upsample(x, 2x nearest), skip), compiled with the
/// graph's fusions: the convolution reads both inputs itself (its ".concat" kernel, or by sub-pixel phase where named),
/// and a training plan's gradients go by sub-pixel phase (CompileOptions.SubPixelDecoders: 4x4 taps at x's resolution,
/// derived weights, the weight gradient folded back onto the 3x3). Forward, the gradients of x and skip, the weight's
/// and the bias's, against one double reference of the three layers; a wide case the GPU's tensor-core tiles take and a
/// small odd one (the edges of the phases).
/// </summary>
internal sealed class DecoderConvCheck : KernelCheck
{
    public override string Operation => "decoder_conv";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(1, 32, 16, 12, 10, 24);
        // One random one at most: each case compiles three layers' fused training and inference plans in every round,
        // and on a GPU the rounds name every convolution entry in turn (device-check gives the whole selftest 90 s).
        for (int i = 1; i < Math.Min(count, 2); i++)
            yield return Case(rng.Next(1, 3), rng.Next(1, 10), rng.Next(1, 7), rng.Next(1, 9), rng.Next(1, 9), rng.Next(1, 13));
    }

    static CheckCase Case(int n, int c, int skip, int h, int w, int cout)
    {
        int oh = 2 * h, ow = 2 * w, cin = c + skip;
        long xLength = (long)n * c * h * w;
        // x (the upsampled input) and then the skip input, one after another, as the runner passes them.
        LinearTerms.Enumerate terms = term =>
        {
            for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
            {
                int iy = oy - 1 + ky, ix = ox - 1 + kx;
                if (iy < 0 || iy >= oh || ix < 0 || ix >= ow) continue;
                long input = ci < c ? At(c, h, w, b, ci, iy / 2, ix / 2) : xLength + At(skip, oh, ow, b, ci - c, iy, ix);
                term(At(cout, oh, ow, b, co, oy, ox), input, ((long)(co * cin + ci) * 3 + ky) * 3 + kx, 1);
            }
        };
        return new CheckCase($"n{n} c{c}+{skip} {h}x{w} -> {cout}", new Concat(), new Shape(n, c, h, w),
            LinearTerms.Reference((long)n * cout * oh * ow, terms, o => o / ((long)oh * ow) % cout), new[] { new Shape(n, skip, oh, ow) })
        {
            Before = new Upsample(2, UpsampleMode.Nearest),
            After = new Conv2d(cin, cout, 3, 1, 1),
            Fused = true,
        };
    }
}
