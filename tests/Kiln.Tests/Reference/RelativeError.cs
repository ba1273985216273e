namespace Kiln.Tests.Reference;

/// <summary>
/// The one error measure of the suite: max |actual - expected| over a tensor, divided by max |expected|
/// (floored at 1e-12 so an all-zero expectation still measures absolute error). Tolerances for f32 results
/// live in <see cref="Tolerances"/>; any NaN or infinity in <c>actual</c> reads as an infinite error.
/// </summary>
public static class RelativeError
{
    /// <summary>Smallest denominator, so an expected tensor of zeros does not divide by zero.</summary>
    public const double Floor = 1e-12;

    /// <summary>max|a - e| / max(max|e|, <see cref="Floor"/>).</summary>
    public static double MaxRelative(IReadOnlyList<double> actual, IReadOnlyList<double> expected)
    {
        if (actual.Count != expected.Count)
            throw new ArgumentException($"length {actual.Count} differs from expected length {expected.Count}");
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.Count; i++)
        {
            if (!double.IsFinite(actual[i])) return double.PositiveInfinity;
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        return maxDiff / Math.Max(maxRef, Floor);
    }

    /// <summary>As above, for an f32 result (a GPU read-back) against a double reference.</summary>
    public static double MaxRelative(IReadOnlyList<float> actual, IReadOnlyList<double> expected) =>
        MaxRelative(actual.Select(v => (double)v).ToArray(), expected);

    /// <summary>As above, for two f32 tensors.</summary>
    public static double MaxRelative(IReadOnlyList<float> actual, IReadOnlyList<float> expected) =>
        MaxRelative(actual.Select(v => (double)v).ToArray(), expected.Select(v => (double)v).ToArray());

    /// <summary>Relative error of a scalar (a loss): |a - e| / max(|e|, <see cref="Floor"/>).</summary>
    public static double MaxRelative(double actual, double expected) =>
        MaxRelative(new[] { actual }, new[] { expected });
}
