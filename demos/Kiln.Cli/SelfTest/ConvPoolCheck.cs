namespace Kiln.Cli.SelfTest;

/// <summary>
/// A UNet encoder's convolution and the 2x2, stride-2 max pool after it, in an inference plan with the graph's fusions:
/// where storage buffers are read (GPUs) the convolution's kernel takes the pool in its epilogue (its ".pool" variant,
/// <c>ConvPool2d</c>) and writes only the pooled output; each round's named entry brings its own. The pooled output
/// against the double reference of both layers; shapes the GPU's tensor-core tiles take, a partial row of tiles and
/// channels past one tile. The first shape again with the convolution's output named too, as a UNet encoder's skip is
/// read besides its pool: the kernel's ".pool.keep" variant then writes it as well, and it is compared too (a training
/// plan fuses the pair the same way, its gradients reading that output). Inference only: the reference has no
/// gradients.
/// </summary>
internal sealed class ConvPoolCheck : KernelCheck
{
    public override string Operation => "conv_pool";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(1, 16, 32, 20, 36);
        yield return Case(1, 16, 32, 20, 36, keep: true);
        yield return Case(2, 24, 48, 18, 34);
        for (int i = 1; i < Math.Min(count, 2); i++)
            yield return Case(rng.Next(1, 3), rng.Next(1, 9), rng.Next(1, 9), 2 * rng.Next(2, 9), 2 * rng.Next(2, 9));
    }

    static CheckCase Case(int n, int cin, int cout, int h, int w, bool keep = false)
    {
        var conv = new Conv2d(cin, cout, 3, 1, 1);
        var x = new Shape(n, cin, h, w);
        var convolution = Conv2dCheck.Reference(conv, x);
        int ph = h / 2, pw = w / 2;
        ReferenceFunction reference = (xs, wt, b, _) =>
        {
            var y = convolution(xs, wt, b, new double[(long)n * cout * h * w]).Y;
            var pooled = new double[(long)n * cout * ph * pw];
            for (int plane = 0; plane < n * cout; plane++)
            for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++)
            {
                double best = double.NegativeInfinity;
                for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    best = Math.Max(best, y[((long)plane * h + 2 * py + dy) * w + 2 * px + dx]);
                pooled[((long)plane * ph + py) * pw + px] = best;
            }
            return new ReferenceResult(pooled, Array.Empty<double>(), null, null) { Kept = y };
        };
        return new CheckCase($"n{n} {cin}->{cout} {h}x{w} k3 p1 + max pool 2{(keep ? ", conv output kept" : "")}", conv, x, reference)
        {
            After = new MaxPool2d(2),
            Fused = true,
            InferenceOnly = true,
            KeepLayerOutput = keep,
        };
    }
}
