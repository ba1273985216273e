namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.adaptive_avg_pool2d(x, 1): [N, C, H, W] → [N, C, 1, 1], each plane's mean.</summary>
public static class RefGlobalAvgPool2d
{
    public static double[] Forward(double[] x, int n, int c, int h, int w)
    {
        Check.Length(x, n * c * h * w, nameof(x));
        int hw = h * w;
        var y = new double[n * c];
        for (int p = 0; p < n * c; p++)
        {
            double s = 0;
            for (int i = 0; i < hw; i++) s += x[p * hw + i];
            y[p] = s / hw;
        }
        return y;
    }

    /// <summary>Given dL/dy [N, C]: every pixel of a plane receives gradY / (H*W).</summary>
    public static double[] Backward(double[] gradY, int n, int c, int h, int w)
    {
        Check.Length(gradY, n * c, nameof(gradY));
        int hw = h * w;
        var gx = new double[n * c * hw];
        for (int i = 0; i < gx.Length; i++) gx[i] = gradY[i / hw] / hw;
        return gx;
    }
}
