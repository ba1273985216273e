namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.mse_loss, mean reduction: L = sum((p - t)²) / count.</summary>
public static class RefMseLoss
{
    /// <summary>The scalar loss of prediction p against target t (same shape).</summary>
    public static double Forward(double[] pred, double[] target)
    {
        Check.Length(target, pred.Length, nameof(target));
        double sum = 0;
        for (int i = 0; i < pred.Length; i++) sum += (pred[i] - target[i]) * (pred[i] - target[i]);
        return sum / pred.Length;
    }

    /// <summary>Given dL upstream (<paramref name="gradLoss"/>): dL/dp = gradLoss * 2 (p - t) / count. (dL/dt is its negation.)</summary>
    public static double[] Backward(double[] pred, double[] target, double gradLoss = 1)
    {
        Check.Length(target, pred.Length, nameof(target));
        return pred.Select((p, i) => gradLoss * 2 * (p - target[i]) / pred.Length).ToArray();
    }
}
