namespace Kiln.Tests.Reference;

/// <summary>Mask handling shared by the masked losses.</summary>
internal static class LossMask
{
    /// <summary>
    /// The mask as a full [N, C, H, W] tensor: a mask of [N, C, H, W] is copied, one of [N, 1, H, W] is repeated over
    /// the channels (torch broadcasting); any other length throws.
    /// </summary>
    public static double[] Expand(double[] mask, int n, int c, int h, int w)
    {
        int plane = h * w;
        if (mask.Length == n * c * plane) return (double[])mask.Clone();
        if (mask.Length != n * plane)
            throw new ArgumentException($"mask has {mask.Length} elements; expected [N,1,H,W] = {n * plane} or [N,C,H,W] = {n * c * plane}", nameof(mask));
        var full = new double[n * c * plane];
        for (int i = 0; i < full.Length; i++)
        {
            int b = i / (c * plane), pixel = i % plane;
            full[i] = mask[b * plane + pixel];
        }
        return full;
    }

    /// <summary>max(sum of the expanded mask, 1): the number of counted elements, never below one.</summary>
    public static double Denominator(double[] expanded) => Math.Max(expanded.Sum(), 1);
}
