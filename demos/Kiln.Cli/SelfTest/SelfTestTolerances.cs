namespace Kiln.Cli.SelfTest;

/// <summary>
/// Largest accepted error, on the metric max |kiln - reference| / max |reference| per tensor (the test suite's),
/// for f32 kernels against the double CPU reference: forward sums are short, gradient sums (over a batch and
/// every pixel) are long, so they get more room. The f32 values are the test suite's Tolerances. Under
/// <see cref="Precision.Fp16"/> every operand may be rounded to fp16 (a relative step of 2^-11) before f32
/// accumulation, so both get 1e-2: far above that rounding, far below what a wrong index or a lost tile gives.
/// </summary>
internal static class SelfTestTolerances
{
    public static double Forward(Precision p) => p == Precision.Fp16 ? 1e-2 : 1e-4;
    public static double Gradient(Precision p) => p == Precision.Fp16 ? 1e-2 : 1e-3;

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
