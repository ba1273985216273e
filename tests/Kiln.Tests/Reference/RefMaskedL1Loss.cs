namespace Kiln.Tests.Reference;

/// <summary>
/// Masked mean absolute error over [N, C, H, W]: L = sum(m * |p - t|) / max(sum(m), 1), where m is the mask expanded
/// to the prediction's shape (a [N, 1, H, W] mask is repeated over channels). The mask gets no gradient.
/// </summary>
public static class RefMaskedL1Loss
{
    /// <summary>The scalar loss; mask is [N, 1, H, W] or [N, C, H, W].</summary>
    public static double Forward(double[] pred, double[] target, double[] mask, int n, int c, int h, int w)
    {
        var m = Expand(pred, target, mask, n, c, h, w);
        double sum = 0;
        for (int i = 0; i < pred.Length; i++) sum += m[i] * Math.Abs(pred[i] - target[i]);
        return sum / LossMask.Denominator(m);
    }

    /// <summary>
    /// Given dL upstream: dL/dp = gradLoss * m * sign(p - t) / max(sum(m), 1), sign(0) = 0. (dL/dt is its negation.)
    /// </summary>
    public static double[] Backward(double[] pred, double[] target, double[] mask, int n, int c, int h, int w, double gradLoss = 1)
    {
        var m = Expand(pred, target, mask, n, c, h, w);
        double den = LossMask.Denominator(m);
        return pred.Select((p, i) => gradLoss * m[i] * Math.Sign(p - target[i]) / den).ToArray();
    }

    static double[] Expand(double[] pred, double[] target, double[] mask, int n, int c, int h, int w)
    {
        Check.Length(pred, n * c * h * w, nameof(pred));
        Check.Length(target, pred.Length, nameof(target));
        return LossMask.Expand(mask, n, c, h, w);
    }
}
