namespace Kiln.Cli.SelfTest;

/// <summary>
/// BatchNorm2d forward and backward: the training form (batch statistics, split over workgroups of 4096 values a
/// channel and merged in order: the benchmark-like case has three chunks a channel), and the evaluation form
/// (useRunningStatistics: the running statistics as initialised, mean 0 and variance 1), which an inference plan
/// also runs channels-last. Weight and bias random.
/// </summary>
internal sealed class BatchNormCheck : KernelCheck
{
    const double Eps = 1e-5;

    public override string Operation => "batchnorm2d";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Training(2, 16, 64, 72);
        yield return Evaluation(1, 32, 24, 32);
        for (int i = 2; i < count; i++)
        {
            int n = rng.Next(1, 3), c = rng.Next(1, 9), h = rng.Next(1, 40), w = rng.Next(2, 40);
            yield return i % 2 == 0 ? Training(n, c, h, w) : Evaluation(n, c, h, w);
        }
    }

    /// <summary>Per channel c over the batch and pixels: y = (x - mean) / sqrt(var + eps) * w + b with the batch's biased
    /// variance; gb = sum gy, gw = sum gy xhat, gx = w / sqrt(var + eps) (gy - gb / M - xhat gw / M).</summary>
    static CheckCase Training(int n, int c, int h, int w) =>
        new($"train n{n} c{c} {h}x{w}", new BatchNorm2d(c), new Shape(n, c, h, w), (x, wt, b, gy) =>
            Reference(n, c, h * w, x, wt!, b!, gy, batch: true)) { ChannelsLast = false };

    /// <summary>The running statistics as initialised: y = x / sqrt(1 + eps) * w + b, gx = gy w / sqrt(1 + eps).</summary>
    static CheckCase Evaluation(int n, int c, int h, int w) =>
        new($"eval n{n} c{c} {h}x{w}", new BatchNorm2d(c, useRunningStatistics: true), new Shape(n, c, h, w), (x, wt, b, gy) =>
            Reference(n, c, h * w, x, wt!, b!, gy, batch: false));

    static ReferenceResult Reference(int n, int c, int hw, double[] x, double[] weight, double[] bias, double[] gy, bool batch)
    {
        var y = new double[x.Length];
        var gx = new double[x.Length];
        var gw = new double[c];
        var gb = new double[c];
        long At(int b, int ch, int p) => ((long)b * c + ch) * hw + p;
        int m = n * hw;
        for (int ch = 0; ch < c; ch++)
        {
            double mean = 0, var = 1;
            if (batch)
            {
                double s = 0, q = 0;
                for (int b = 0; b < n; b++) for (int p = 0; p < hw; p++) s += x[At(b, ch, p)];
                mean = s / m;
                for (int b = 0; b < n; b++) for (int p = 0; p < hw; p++) q += Math.Pow(x[At(b, ch, p)] - mean, 2);
                var = q / m;
            }
            double invStd = 1 / Math.Sqrt(var + Eps);
            for (int b = 0; b < n; b++)
                for (int p = 0; p < hw; p++)
                {
                    long i = At(b, ch, p);
                    double xhat = (x[i] - mean) * invStd;
                    y[i] = xhat * weight[ch] + bias[ch];
                    gb[ch] += gy[i];
                    gw[ch] += gy[i] * xhat;
                }
            for (int b = 0; b < n; b++)
                for (int p = 0; p < hw; p++)
                {
                    long i = At(b, ch, p);
                    double xhat = (x[i] - mean) * invStd;
                    gx[i] = batch ? weight[ch] * invStd * (gy[i] - gb[ch] / m - xhat * gw[ch] / m) : gy[i] * weight[ch] * invStd;
                }
        }
        return new ReferenceResult(y, gx, gw, gb);
    }
}
