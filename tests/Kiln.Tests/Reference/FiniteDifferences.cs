namespace Kiln.Tests.Reference;

/// <summary>
/// Central differences in double, the independent check of every reference Backward:
/// df/dx_i ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
/// </summary>
public static class FiniteDifferences
{
    /// <summary>Default step: truncation error ~eps² and rounding error ~1e-16/eps both stay near 1e-10.</summary>
    public const double DefaultEps = 1e-6;

    /// <summary>Gradient of the scalar function <paramref name="f"/> at <paramref name="x"/>; x is left unchanged.</summary>
    public static double[] Gradient(Func<double[], double> f, double[] x, double eps = DefaultEps)
    {
        var probe = (double[])x.Clone();
        var grad = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            probe[i] = x[i] + eps;
            double plus = f(probe);
            probe[i] = x[i] - eps;
            double minus = f(probe);
            probe[i] = x[i];
            grad[i] = (plus - minus) / (2 * eps);
        }
        return grad;
    }

    /// <summary>
    /// Checks one input's gradient from a Backward: with a fixed random r (seeded by <paramref name="seed"/>, uniform in
    /// [-1, 1], one entry per output), the loss L(x) = sum(r * forward(x)) has dL/dy = r, so
    /// <c>backward(r)</c> must equal the finite-difference gradient of L. Returns their
    /// <see cref="RelativeError.MaxRelative(IReadOnlyList{double}, IReadOnlyList{double})"/>.
    /// </summary>
    /// <param name="forward">The op as a function of this one input (other inputs and parameters held fixed).</param>
    /// <param name="x">The input at which to check.</param>
    /// <param name="backward">Given the output gradient, returns the gradient for this input.</param>
    public static double BackwardError(Func<double[], double[]> forward, double[] x, Func<double[], double[]> backward,
        int seed = 1234, double eps = DefaultEps)
    {
        var r = RandomData.Uniform(forward(x).Length, seed);
        var analytic = backward(r);
        var numeric = Gradient(v => Dot(r, forward(v)), x, eps);
        return RelativeError.MaxRelative(analytic, numeric);
    }

    /// <summary>As <see cref="BackwardError"/> for a scalar op (a loss): L(x) = r * f(x) with one random r.</summary>
    public static double ScalarBackwardError(Func<double[], double> forward, double[] x, Func<double, double[]> backward,
        int seed = 1234, double eps = DefaultEps) =>
        BackwardError(v => new[] { forward(v) }, x, r => backward(r[0]), seed, eps);

    static double Dot(double[] a, double[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException("output length changed between evaluations");
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
