namespace Kiln.Tests.Reference;

/// <summary>torch.tanh: y = tanh(x).</summary>
public static class RefTanh
{
    /// <summary>y[i] = tanh(x[i]).</summary>
    public static double[] Forward(double[] x) => x.Select(Math.Tanh).ToArray();

    /// <summary>Given dL/dy: gradY * (1 - y²).</summary>
    public static double[] Backward(double[] x, double[] gradY)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        return x.Select((v, i) => gradY[i] * (1 - Math.Tanh(v) * Math.Tanh(v))).ToArray();
    }
}
