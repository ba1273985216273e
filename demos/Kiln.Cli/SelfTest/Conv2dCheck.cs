namespace Kiln.Cli.SelfTest;

/// <summary>
/// Conv2d forward and backward: random kernel sizes, strides, padding, dilation, groups; fixed wider shapes that the
/// GPU's tiled and cooperative-matrix kernels take (channels past one tile, a reduction not a multiple of its step,
/// pixels not a multiple of its tile, stride 2, dilation 2; over 2048 pixels, so the GPU's weight and bias gradients
/// split their reductions; the 4x4 stride-2 layer of the decoders' sub-pixel gradients; a 64 -> 3 last layer).
/// </summary>
internal sealed class Conv2dCheck : KernelCheck
{
    public override string Operation => "conv2d";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(2, 16, 16, 19, 21, 3, 1, 1, 1, 1, true);
        yield return Case(1, 9, 32, 17, 13, 3, 1, 1, 1, 1, true);
        yield return Case(2, 40, 112, 12, 11, 3, 1, 1, 1, 1, true);
        yield return Case(1, 24, 48, 15, 16, 5, 2, 2, 1, 1, false);
        yield return Case(1, 20, 70, 14, 14, 3, 1, 2, 2, 1, true);
        yield return Case(2, 24, 40, 34, 31, 3, 1, 1, 1, 1, true);
        // A network's last layer, few output channels from many (the denoiser's 64 -> 3: Conv2dNarrow's), on a tile's
        // width and a row past it.
        yield return Case(1, 64, 3, 9, 70, 3, 1, 1, 1, 1, true);
        // The convolution a UNet decoder's sub-pixel gradients run (SubPixelGradients): 4x4 taps, stride 2, padding 1, as
        // the upsampled input's gradient (forward) and as its weight gradient's part (weight gradient).
        yield return Case(2, 32, 24, 16, 14, 4, 2, 1, 1, 1, false);
        for (int made = 1; made < count;)
        {
            int g = rng.Next(3) == 0 ? rng.Next(1, 4) : 1;
            int cin = g * rng.Next(1, 7), cout = g * rng.Next(1, 9), k = new[] { 1, 3, 3, 5 }[rng.Next(4)];
            int s = rng.Next(1, 3), d = rng.Next(4) == 0 ? 2 : 1, p = rng.Next(0, k / 2 * d + 1);
            int h = rng.Next(3, 24), w = rng.Next(3, 24);
            if ((h + 2 * p - d * (k - 1) - 1) / s + 1 <= 0 || h + 2 * p < d * (k - 1) + 1 || w + 2 * p < d * (k - 1) + 1) continue;
            made++;
            yield return Case(rng.Next(1, 3), cin, cout, h, w, k, s, p, d, g, rng.Next(4) != 0);
        }
    }

    static CheckCase Case(int n, int cin, int cout, int h, int w, int k, int s, int p, int d, int g, bool bias)
    {
        var layer = new Conv2d(cin, cout, k, s, p, d, g, bias);
        var x = new Shape(n, cin, h, w);
        return new CheckCase($"n{n} {cin}->{cout} {h}x{w} k{k} s{s} p{p} d{d} g{g}{(bias ? "" : " no bias")}", layer, x, Reference(layer, x));
    }

    /// <summary>The double CPU reference of <paramref name="layer"/> (square kernel, stride, padding and dilation) on an input of shape <paramref name="x"/> (<see cref="LinearTerms"/>).</summary>
    internal static ReferenceFunction Reference(Conv2d layer, Shape x)
    {
        var ((n, cin, h, w), a) = (x.Nchw, layer.Attributes);
        var y = layer.OutputShape(new[] { x });
        int cout = a.OutChannels, k = a.Kernel.H, s = a.Stride.H, p = a.Padding.H, d = a.Dilation.H, g = a.Groups;
        int oh = y[2], ow = y[3], cig = cin / g, cog = cout / g;
        LinearTerms.Enumerate terms = term =>
        {
            for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            for (int c = 0; c < cig; c++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * s - p + ky * d, ix = ox * s - p + kx * d;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                int ci = co / cog * cig + c;
                term(At(cout, oh, ow, b, co, oy, ox), At(cin, h, w, b, ci, iy, ix), ((long)(co * cig + c) * k + ky) * k + kx, 1);
            }
        };
        return LinearTerms.Reference(y.Elements, terms, o => o / ((long)oh * ow) % cout);
    }
}
