namespace Kiln.Cli.SelfTest;

/// <summary>
/// ConvTranspose2d forward and backward: random kernels, strides, padding and output padding; one wider shape whose
/// weight gradient takes partial tiles and a split reduction on a GPU; an autoencoder decoder's 4x4 stride-2 layer wide
/// enough for the tensor-core kernels, whose forward runs every output phase in one dispatch at fp16 there.
/// </summary>
internal sealed class ConvTranspose2dCheck : KernelCheck
{
    public override string Operation => "conv_transpose2d";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(2, 16, 8, 8, 9, 4, 2, 1, 0, true);
        yield return Case(3, 40, 36, 12, 11, 3, 2, 1, 1, true);
        yield return Case(2, 32, 24, 7, 9, 4, 2, 1, 0, true);
        for (int made = 1; made < count;)
        {
            int k = rng.Next(1, 5), s = rng.Next(1, 4), p = rng.Next(0, k), op = rng.Next(0, s);
            int h = rng.Next(2, 12), w = rng.Next(2, 12);
            if ((h - 1) * s - 2 * p + k + op <= 0 || (w - 1) * s - 2 * p + k + op <= 0) continue;
            made++;
            yield return Case(rng.Next(1, 3), rng.Next(1, 7), rng.Next(1, 7), h, w, k, s, p, op, rng.Next(4) != 0);
        }
    }

    static CheckCase Case(int n, int cin, int cout, int h, int w, int k, int s, int p, int op, bool bias)
    {
        var layer = new ConvTranspose2d(cin, cout, k, s, p, op, bias: bias);
        var x = new Shape(n, cin, h, w);
        var y = layer.OutputShape(new[] { x });
        int oh = y[2], ow = y[3];
        // PyTorch's rule: each input pixel scatters x * w[ci, co] to (iy * s - p + ky, ix * s - p + kx).
        LinearTerms.Enumerate terms = term =>
        {
            for (int b = 0; b < n; b++)
            for (int ci = 0; ci < cin; ci++)
            for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix++)
            for (int co = 0; co < cout; co++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int oy = iy * s - p + ky, ox = ix * s - p + kx;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                term(At(cout, oh, ow, b, co, oy, ox), At(cin, h, w, b, ci, iy, ix), ((long)(ci * cout + co) * k + ky) * k + kx, 1);
            }
        };
        return new CheckCase($"n{n} {cin}->{cout} {h}x{w} k{k} s{s} p{p} op{op}{(bias ? "" : " no bias")}", layer, x,
            LinearTerms.Reference(y.Elements, terms, o => o / ((long)oh * ow) % cout));
    }
}
