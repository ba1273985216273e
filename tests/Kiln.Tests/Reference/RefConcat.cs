namespace Kiln.Tests.Reference;

/// <summary>torch.cat(xs, dim=1): inputs [N, C_k, H, W] stacked along channels into [N, sum C_k, H, W].</summary>
public static class RefConcat
{
    /// <summary>Inputs xs[k] of shape [N, channels[k], H, W] → y [N, sum channels, H, W].</summary>
    public static double[] Forward(double[][] xs, int n, int[] channels, int h, int w)
    {
        if (xs.Length != channels.Length) throw new ArgumentException("one channel count per input");
        for (int k = 0; k < xs.Length; k++) Check.Length(xs[k], n * channels[k] * h * w, $"xs[{k}]");
        int plane = h * w, total = channels.Sum();
        var y = new double[n * total * plane];
        for (int b = 0; b < n; b++)
        {
            int offset = 0;
            for (int k = 0; k < xs.Length; k++)
            {
                int block = channels[k] * plane;
                Array.Copy(xs[k], b * block, y, (b * total + offset) * plane, block);
                offset += channels[k];
            }
        }
        return y;
    }

    /// <summary>Given dL/dy [N, sum channels, H, W]: each input's gradient is its own channel slice of gradY.</summary>
    public static double[][] Backward(double[] gradY, int n, int[] channels, int h, int w)
    {
        int plane = h * w, total = channels.Sum();
        Check.Length(gradY, n * total * plane, nameof(gradY));
        var gxs = channels.Select(ck => new double[n * ck * plane]).ToArray();
        for (int b = 0; b < n; b++)
        {
            int offset = 0;
            for (int k = 0; k < channels.Length; k++)
            {
                int block = channels[k] * plane;
                Array.Copy(gradY, (b * total + offset) * plane, gxs[k], b * block, block);
                offset += channels[k];
            }
        }
        return gxs;
    }
}
