namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.batch_norm over [N, C, H, W] with weight and bias: training form (batch mean and biased
/// variance normalise; running statistics move by momentum towards the mean and the unbiased variance) and eval
/// form (running statistics normalise).
/// </summary>
public static class RefBatchNorm2d
{
    static int At(int b, int ch, int i, int c, int hw) => (b * c + ch) * hw + i;

    /// <summary>Per-channel batch mean and biased variance.</summary>
    public static (double[] Mean, double[] Var) Statistics(double[] x, int n, int c, int hw)
    {
        Check.Length(x, n * c * hw, nameof(x));
        var mean = new double[c];
        var variance = new double[c];
        int m = n * hw;
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) s += x[At(b, ch, i, c, hw)];
            mean[ch] = s / m;
            double q = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) { double d = x[At(b, ch, i, c, hw)] - mean[ch]; q += d * d; }
            variance[ch] = q / m;
        }
        return (mean, variance);
    }

    /// <summary>y = (x - mean) / sqrt(var + eps) * weight + bias with the given per-channel mean and variance.</summary>
    public static double[] Normalize(double[] x, double[] mean, double[] variance, double[] weight, double[] bias, int n, int c, int hw, double eps)
    {
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++)
                {
                    int k = At(b, ch, i, c, hw);
                    y[k] = (x[k] - mean[ch]) / Math.Sqrt(variance[ch] + eps) * weight[ch] + bias[ch];
                }
        return y;
    }

    /// <summary>Training form: normalised by the batch statistics.</summary>
    public static double[] ForwardTraining(double[] x, double[] weight, double[] bias, int n, int c, int hw, double eps = 1e-5)
    {
        var (mean, variance) = Statistics(x, n, c, hw);
        return Normalize(x, mean, variance, weight, bias, n, c, hw, eps);
    }

    /// <summary>Eval form: normalised by the running statistics.</summary>
    public static double[] ForwardEval(double[] x, double[] weight, double[] bias, double[] runningMean, double[] runningVar, int n, int c, int hw, double eps = 1e-5) =>
        Normalize(x, runningMean, runningVar, weight, bias, n, c, hw, eps);

    /// <summary>The running statistics after one training step: (1 - momentum) * old + momentum * batch (unbiased variance).</summary>
    public static (double[] Mean, double[] Var) UpdateRunning(double[] x, double[] runningMean, double[] runningVar, int n, int c, int hw, double momentum = 0.1)
    {
        var (mean, variance) = Statistics(x, n, c, hw);
        int m = n * hw;
        return (runningMean.Select((r, ch) => (1 - momentum) * r + momentum * mean[ch]).ToArray(),
                runningVar.Select((r, ch) => (1 - momentum) * r + momentum * variance[ch] * m / (m - 1)).ToArray());
    }

    /// <summary>Gradients of the training form: dx, dweight = sum(dy * xhat), dbias = sum(dy).</summary>
    public static (double[] GradX, double[] GradWeight, double[] GradBias) BackwardTraining(double[] x, double[] weight, double[] gradY,
        int n, int c, int hw, double eps = 1e-5)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        var (mean, variance) = Statistics(x, n, c, hw);
        int m = n * hw;
        var gx = new double[x.Length];
        var gw = new double[c];
        var gb = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double inv = 1 / Math.Sqrt(variance[ch] + eps);
            for (int b = 0; b < n; b++)
                for (int i = 0; i < hw; i++)
                {
                    int k = At(b, ch, i, c, hw);
                    gb[ch] += gradY[k];
                    gw[ch] += gradY[k] * (x[k] - mean[ch]) * inv;
                }
            for (int b = 0; b < n; b++)
                for (int i = 0; i < hw; i++)
                {
                    int k = At(b, ch, i, c, hw);
                    double xhat = (x[k] - mean[ch]) * inv;
                    gx[k] = weight[ch] * inv * (gradY[k] - gb[ch] / m - xhat * gw[ch] / m);
                }
        }
        return (gx, gw, gb);
    }

    /// <summary>Gradients of the eval form (running statistics are constants): dx = dy * weight / sqrt(running_var + eps).</summary>
    public static (double[] GradX, double[] GradWeight, double[] GradBias) BackwardEval(double[] x, double[] weight, double[] runningMean,
        double[] runningVar, double[] gradY, int n, int c, int hw, double eps = 1e-5)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        var gx = new double[x.Length];
        var gw = new double[c];
        var gb = new double[c];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            {
                double inv = 1 / Math.Sqrt(runningVar[ch] + eps);
                for (int i = 0; i < hw; i++)
                {
                    int k = At(b, ch, i, c, hw);
                    gx[k] = gradY[k] * weight[ch] * inv;
                    gw[ch] += gradY[k] * (x[k] - runningMean[ch]) * inv;
                    gb[ch] += gradY[k];
                }
            }
        return (gx, gw, gb);
    }
}
