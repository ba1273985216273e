namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.cross_entropy with class-probability targets, mean reduction, no weights or smoothing:
/// logits x and targets t are [N, C] row-major; L = -(1/N) sum_n sum_c t[n,c] log_softmax(x[n,:])[c].
/// </summary>
public static class RefSoftmaxCrossEntropyLoss
{
    /// <summary>log_softmax of each row of x [N, C], computed as x - (m + log sum exp(x - m)), m the row maximum.</summary>
    public static double[] LogSoftmax(double[] logits, int n, int c)
    {
        Check.Positive(n, nameof(n));
        Check.Positive(c, nameof(c));
        Check.Length(logits, n * c, nameof(logits));
        var y = new double[n * c];
        for (int r = 0; r < n; r++)
        {
            var row = logits.AsSpan(r * c, c);
            double m = double.NegativeInfinity;
            foreach (var v in row) m = Math.Max(m, v);
            double se = 0;
            foreach (var v in row) se += Math.Exp(v - m);
            double lse = m + Math.Log(se);
            for (int k = 0; k < c; k++) y[r * c + k] = row[k] - lse;
        }
        return y;
    }

    /// <summary>The scalar loss.</summary>
    public static double Forward(double[] logits, double[] target, int n, int c)
    {
        Check.Length(target, n * c, nameof(target));
        var ls = LogSoftmax(logits, n, c);
        double sum = 0;
        for (int i = 0; i < ls.Length; i++) sum -= target[i] * ls[i];
        return sum / n;
    }

    /// <summary>Given dL upstream: dL/dx[n,k] = gradLoss * (softmax(x[n,:])[k] sum_c t[n,c] - t[n,k]) / N.</summary>
    public static double[] Backward(double[] logits, double[] target, int n, int c, double gradLoss = 1)
    {
        Check.Length(target, n * c, nameof(target));
        var ls = LogSoftmax(logits, n, c);
        var g = new double[n * c];
        for (int r = 0; r < n; r++)
        {
            double ts = 0;
            for (int k = 0; k < c; k++) ts += target[r * c + k];
            for (int k = 0; k < c; k++) g[r * c + k] = gradLoss * (Math.Exp(ls[r * c + k]) * ts - target[r * c + k]) / n;
        }
        return g;
    }

    /// <summary>Given dL upstream: dL/dt[n,k] = -gradLoss * log_softmax(x[n,:])[k] / N.</summary>
    public static double[] BackwardTarget(double[] logits, double[] target, int n, int c, double gradLoss = 1)
    {
        Check.Length(target, n * c, nameof(target));
        return LogSoftmax(logits, n, c).Select(v => -gradLoss * v / n).ToArray();
    }
}
