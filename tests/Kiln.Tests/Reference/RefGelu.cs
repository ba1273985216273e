namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.gelu, exact form: y = x * Φ(x) with Φ(x) = erfc(-x / √2) / 2.</summary>
public static class RefGelu
{
    /// <summary>y[i] = x[i] * Φ(x[i]).</summary>
    public static double[] Forward(double[] x) => x.Select(v => v * Cdf(v)).ToArray();

    /// <summary>Given dL/dy: gradY * (Φ(x) + x φ(x)), φ the standard normal density.</summary>
    public static double[] Backward(double[] x, double[] gradY)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        return x.Select((v, i) => gradY[i] * (Cdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI))).ToArray();
    }

    /// <summary>Standard normal CDF Φ(x).</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>
    /// erfc in double to ~1e-14 relative: 1 - erf by its Taylor series for |z| &lt; 2.5, else the continued fraction
    /// erfc(z) = exp(-z²)/√π / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))) (and 2 - erfc(-z) for negative z).
    /// </summary>
    public static double Erfc(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        if (Math.Abs(z) < 2.5)
        {
            double sum = 0, term = z;
            for (int n = 0; n < 200; n++)
            {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) <= 1e-17 * Math.Abs(sum)) break;
                term *= -z * z / (n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        double a = Math.Abs(z), f = a;
        for (int n = 120; n >= 1; n--) f = a + n / 2.0 / f;
        double tail = Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        return z > 0 ? tail : 2 - tail;
    }
}
