namespace Kiln.Tests.Reference;

/// <summary>torch.sigmoid: y = 1 / (1 + exp(-x)).</summary>
public static class RefSigmoid
{
    /// <summary>y[i] = 1 / (1 + exp(-x[i])).</summary>
    public static double[] Forward(double[] x) => x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();

    /// <summary>Given dL/dy: gradY * y * (1 - y).</summary>
    public static double[] Backward(double[] x, double[] gradY)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        var y = Forward(x);
        return y.Select((v, i) => gradY[i] * v * (1 - v)).ToArray();
    }
}
