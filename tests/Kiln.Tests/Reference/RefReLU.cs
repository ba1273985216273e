namespace Kiln.Tests.Reference;

/// <summary>torch.relu: y = max(x, 0).</summary>
public static class RefReLU
{
    /// <summary>y[i] = x[i] > 0 ? x[i] : 0.</summary>
    public static double[] Forward(double[] x) => x.Select(v => v > 0 ? v : 0.0).ToArray();

    /// <summary>Given dL/dy: gradY where x > 0, else 0 (PyTorch passes nothing at x == 0).</summary>
    public static double[] Backward(double[] x, double[] gradY)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        return x.Select((v, i) => v > 0 ? gradY[i] : 0.0).ToArray();
    }
}
