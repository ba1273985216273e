namespace Kiln.Cli.SelfTest;

/// <summary>
/// Largest accepted error, on the metric max |kiln - reference| / max |reference| per tensor (the test suite's),
/// for f32 kernels against the double CPU reference: forward sums are short, gradient sums (over a batch and
/// every pixel) are long, so they get more room. The values are the test suite's Tolerances.
/// </summary>
internal static class SelfTestTolerances
{
    public const double Forward = 1e-4;
    public const double Gradient = 1e-3;

    public static double MaxRelative(float[] actual, double[] expected)
    {
        if (actual.Length != expected.Length) return double.PositiveInfinity;
        double diff = 0, scale = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!float.IsFinite(actual[i])) return double.PositiveInfinity;
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return diff / Math.Max(scale, 1e-12);
    }
}
