namespace Kiln.Tests.Reference;

/// <summary>Seeded random tensors for reference checks, so every run sees the same numbers.</summary>
public static class RandomData
{
    /// <summary><paramref name="length"/> values uniform in [lo, hi).</summary>
    public static double[] Uniform(int length, int seed, double lo = -1, double hi = 1)
    {
        var random = new Random(seed);
        var data = new double[length];
        for (int i = 0; i < length; i++) data[i] = lo + (hi - lo) * random.NextDouble();
        return data;
    }

    /// <summary>
    /// Uniform in ±[margin, 1): no value within <paramref name="margin"/> of zero, so a finite-difference step cannot
    /// cross the kink of ReLU, LeakyReLU or |x|.
    /// </summary>
    public static double[] AwayFromZero(int length, int seed, double margin = 0.05)
    {
        var random = new Random(seed);
        var data = new double[length];
        for (int i = 0; i < length; i++)
        {
            double magnitude = margin + (1 - margin) * random.NextDouble();
            data[i] = random.Next(2) == 0 ? -magnitude : magnitude;
        }
        return data;
    }

    /// <summary>0/1 values, each 1 with probability <paramref name="pOne"/>.</summary>
    public static double[] Mask(int length, int seed, double pOne = 0.5)
    {
        var random = new Random(seed);
        var data = new double[length];
        for (int i = 0; i < length; i++) data[i] = random.NextDouble() < pOne ? 1 : 0;
        return data;
    }
}
