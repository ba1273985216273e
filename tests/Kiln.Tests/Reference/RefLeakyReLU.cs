namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.leaky_relu: y = x for x > 0, negativeSlope * x otherwise.</summary>
public static class RefLeakyReLU
{
    /// <summary>PyTorch's default negative_slope.</summary>
    public const double DefaultSlope = 0.01;

    /// <summary>y[i] = x[i] > 0 ? x[i] : negativeSlope * x[i].</summary>
    public static double[] Forward(double[] x, double negativeSlope = DefaultSlope) =>
        x.Select(v => v > 0 ? v : negativeSlope * v).ToArray();

    /// <summary>Given dL/dy: gradY where x > 0, else negativeSlope * gradY (so x == 0 takes the slope, as PyTorch).</summary>
    public static double[] Backward(double[] x, double[] gradY, double negativeSlope = DefaultSlope)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        return x.Select((v, i) => v > 0 ? gradY[i] : negativeSlope * gradY[i]).ToArray();
    }
}
