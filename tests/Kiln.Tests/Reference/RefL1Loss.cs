namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.l1_loss, mean reduction: L = sum(|p - t|) / count.</summary>
public static class RefL1Loss
{
    /// <summary>The scalar loss of prediction p against target t (same shape).</summary>
    public static double Forward(double[] pred, double[] target)
    {
        Check.Length(target, pred.Length, nameof(target));
        double sum = 0;
        for (int i = 0; i < pred.Length; i++) sum += Math.Abs(pred[i] - target[i]);
        return sum / pred.Length;
    }

    /// <summary>
    /// Given dL upstream: dL/dp = gradLoss * sign(p - t) / count, with sign(0) = 0 as torch.sign.
    /// (dL/dt is its negation.)
    /// </summary>
    public static double[] Backward(double[] pred, double[] target, double gradLoss = 1)
    {
        Check.Length(target, pred.Length, nameof(target));
        return pred.Select((p, i) => gradLoss * Math.Sign(p - target[i]) / pred.Length).ToArray();
    }
}
