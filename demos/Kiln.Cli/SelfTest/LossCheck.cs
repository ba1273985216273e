namespace Kiln.Cli.SelfTest;

/// <summary>
/// The loss layers' full reductions (one workgroup on a CPU device, many workgroups and an ordered second pass on a
/// GPU) and their backward, against double CPU sums: prediction x and a random target of the same shape; one
/// benchmark-like case of a million elements, then random kinds and sizes.
/// </summary>
internal sealed class LossCheck : KernelCheck
{
    public override string Operation => "loss";

    // DotLoss is left out: x in [-1, 1] against t in [0, 1) sums to about zero, which no float order keeps to 1e-4 of itself.
    // (Every case of every check runs it, as the loss that carries the chosen output gradient.)
    static readonly string[] Kinds = { "mse", "l1", "huber", "bce", "softmax_ce" };

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case("mse", new Shape(1000003));
        for (int i = 1; i < count; i++)
        {
            string kind = Kinds[rng.Next(Kinds.Length)];
            yield return Case(kind, kind == "softmax_ce" ? new Shape(rng.Next(1, 5000), rng.Next(1, 40)) : new Shape(rng.Next(1, 300000)));
        }
    }

    static CheckCase Case(string kind, Shape shape)
    {
        Layer layer = kind switch
        {
            "mse" => new MseLoss(),
            "l1" => new L1Loss(),
            "huber" => new HuberLoss(0.5f),
            "bce" => new BceWithLogitsLoss(),
            _ => new SoftmaxCrossEntropyLoss(),
        };
        int n = (int)shape.Elements;
        return new CheckCase($"{kind} {shape}", layer, shape, (xt, _, _, gy) =>
        {
            var (x, t) = (xt.AsSpan(0, n).ToArray(), xt.AsSpan(n, n).ToArray());
            var (y, gx) = kind == "softmax_ce" ? SoftmaxCe(x, t, shape[0], shape[1]) : Pointwise(kind, x, t);
            return new ReferenceResult(new[] { y }, gx.Select(g => g * gy[0]).ToArray(), null, null);
        }, new[] { shape }) { OutputGradientScale = OutputGradientScale };
    }

    /// <summary>
    /// The loss's output gradient is drawn times 2^14, as a training step under f16 storage scales it (LossScaling):
    /// unscaled, the gradient of a mean over a million elements lies among f16's subnormal numbers.
    /// </summary>
    const float OutputGradientScale = 16384f;

    /// <summary>The loss and its gradient in x, for a loss that is the mean of a term per element.</summary>
    static (double Y, double[] Gx) Pointwise(string kind, double[] x, double[] t)
    {
        double sum = 0, scale = 1.0 / x.Length;
        var gx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - t[i];
            (double term, double grad) = kind switch
            {
                "mse" => (d * d, 2 * d),
                "l1" => (Math.Abs(d), Math.Sign(d)),
                "huber" => Math.Abs(d) < 0.5 ? (0.5 * d * d, d) : (0.5 * (Math.Abs(d) - 0.25), 0.5 * Math.Sign(d)),
                _ => (Math.Max(x[i], 0) - x[i] * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(x[i]))), 1 / (1 + Math.Exp(-x[i])) - t[i]),
            };
            sum += term;
            gx[i] = grad * scale;
        }
        return (sum * scale, gx);
    }

    /// <summary>-(1/N) sum t log_softmax(x) over rows, and its gradient (softmax(x) sum(t) - t) / N.</summary>
    static (double Y, double[] Gx) SoftmaxCe(double[] x, double[] t, int rows, int classes)
    {
        double loss = 0;
        var gx = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            int b = r * classes;
            double m = x.Skip(b).Take(classes).Max(), se = 0, ts = 0;
            for (int c = 0; c < classes; c++) { se += Math.Exp(x[b + c] - m); ts += t[b + c]; }
            double lse = m + Math.Log(se);
            for (int c = 0; c < classes; c++)
            {
                loss -= t[b + c] * (x[b + c] - lse);
                gx[b + c] = (Math.Exp(x[b + c] - lse) * ts - t[b + c]) / rows;
            }
        }
        return (loss / rows, gx);
    }
}
