namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.binary_cross_entropy_with_logits, mean reduction, no weights:
/// L = sum(max(x, 0) - x t + log(1 + exp(-|x|))) / count, which is -(t log σ(x) + (1 - t) log(1 - σ(x))) averaged.
/// </summary>
public static class RefBceWithLogitsLoss
{
    /// <summary>The scalar loss of logits x against targets t (same shape).</summary>
    public static double Forward(double[] logits, double[] target)
    {
        Check.Length(target, logits.Length, nameof(target));
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double x = logits[i];
            sum += Math.Max(x, 0) - x * target[i] + Log1p(Math.Exp(-Math.Abs(x)));
        }
        return sum / logits.Length;
    }

    /// <summary>Given dL upstream: dL/dx = gradLoss * (σ(x) - t) / count.</summary>
    public static double[] Backward(double[] logits, double[] target, double gradLoss = 1)
    {
        Check.Length(target, logits.Length, nameof(target));
        return logits.Select((x, i) => gradLoss * (Sigmoid(x) - target[i]) / logits.Length).ToArray();
    }

    /// <summary>Given dL upstream: dL/dt = -gradLoss * x / count.</summary>
    public static double[] BackwardTarget(double[] logits, double[] target, double gradLoss = 1)
    {
        Check.Length(target, logits.Length, nameof(target));
        return logits.Select(x => -gradLoss * x / logits.Length).ToArray();
    }

    /// <summary>σ(x) without overflow for either sign.</summary>
    public static double Sigmoid(double x)
    {
        double e = Math.Exp(-Math.Abs(x));
        return x >= 0 ? 1 / (1 + e) : e / (1 + e);
    }

    /// <summary>log(1 + e), accurate for small e (Goldberg).</summary>
    static double Log1p(double e)
    {
        double u = 1 + e;
        return u == 1 ? e : Math.Log(u) * (e / (u - 1));
    }
}
