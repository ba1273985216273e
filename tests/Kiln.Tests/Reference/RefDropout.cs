namespace Kiln.Tests.Reference;

/// <summary>
/// Kiln's dropout (shaders/dropout/dropout.glsl): element i of step <c>step</c> under seed <c>seed</c> is kept when
/// the top 24 bits of h = mix(mix(k ^ i) ^ k), k = mix(mix(seed) ^ step), mix = Wellons' lowbias32, are at least
/// round(p * 2^24); kept elements are scaled by 1 / (1 - p). PyTorch draws its mask from another generator, so this
/// reference defines the mask and the tests check the statistics separately.
/// </summary>
public static class RefDropout
{
    public static uint Mix(uint x)
    {
        unchecked
        {
            x ^= x >> 16;
            x *= 0x7feb352du;
            x ^= x >> 15;
            x *= 0x846ca68bu;
            x ^= x >> 16;
            return x;
        }
    }

    public static uint Threshold(double p) => (uint)Math.Round(p * (1 << 24));

    /// <summary>The keep mask (1 kept, 0 dropped) of <paramref name="length"/> elements.</summary>
    public static bool[] Mask(int length, double p, uint seed, uint step)
    {
        uint k = Mix(Mix(seed) ^ step), threshold = Threshold(p);
        var mask = new bool[length];
        for (int i = 0; i < length; i++) mask[i] = (Mix(Mix(k ^ (uint)i) ^ k) >> 8) >= threshold;
        return mask;
    }

    /// <summary>y = mask ? x / (1 - p) : 0.</summary>
    public static double[] Forward(double[] x, double p, uint seed, uint step)
    {
        var mask = Mask(x.Length, p, seed, step);
        return x.Select((v, i) => mask[i] ? v / (1 - p) : 0).ToArray();
    }

    /// <summary>dx = mask ? dy / (1 - p) : 0, the same mask as the forward step.</summary>
    public static double[] Backward(double[] gradY, double p, uint seed, uint step) => Forward(gradY, p, seed, step);
}
