namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.huber_loss, mean reduction: L = sum(h(p - t)) / count with h(d) = d²/2 where |d| &lt; delta,
/// else delta (|d| - delta/2).
/// </summary>
public static class RefHuberLoss
{
    /// <summary>The scalar loss of prediction p against target t (same shape).</summary>
    public static double Forward(double[] pred, double[] target, double delta = 1)
    {
        Check.Length(target, pred.Length, nameof(target));
        double sum = 0;
        for (int i = 0; i < pred.Length; i++)
        {
            double d = pred[i] - target[i], a = Math.Abs(d);
            sum += a < delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
        }
        return sum / pred.Length;
    }

    /// <summary>
    /// Given dL upstream: dL/dp = gradLoss * clamp(p - t, -delta, delta) / count (d inside, delta sign(d) outside;
    /// equal at |d| = delta). dL/dt is its negation.
    /// </summary>
    public static double[] Backward(double[] pred, double[] target, double delta = 1, double gradLoss = 1)
    {
        Check.Length(target, pred.Length, nameof(target));
        return pred.Select((p, i) => gradLoss * Math.Clamp(p - target[i], -delta, delta) / pred.Length).ToArray();
    }

    /// <summary>dL/dt = -dL/dp.</summary>
    public static double[] BackwardTarget(double[] pred, double[] target, double delta = 1, double gradLoss = 1) =>
        Backward(pred, target, delta, gradLoss).Select(v => -v).ToArray();
}
