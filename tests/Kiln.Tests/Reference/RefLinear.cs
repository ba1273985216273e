namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.linear: y[n, o] = sum_i x[n, i] * weight[o, i] + bias[o].</summary>
public static class RefLinear
{
    /// <summary>x [N, in], weight [out, in], bias [out] or null → y [N, out].</summary>
    public static double[] Forward(double[] x, double[] weight, double[]? bias, int n, int inFeatures, int outFeatures)
    {
        Check.Length(x, n * inFeatures, nameof(x));
        Check.Length(weight, outFeatures * inFeatures, nameof(weight));
        if (bias != null) Check.Length(bias, outFeatures, nameof(bias));
        var y = new double[n * outFeatures];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < outFeatures; o++)
            {
                double s = bias?[o] ?? 0;
                for (int i = 0; i < inFeatures; i++) s += x[b * inFeatures + i] * weight[o * inFeatures + i];
                y[b * outFeatures + o] = s;
            }
        return y;
    }

    /// <summary>
    /// Given dL/dy [N, out]: dL/dx = gradY · weight, dL/dweight = gradYᵀ · x, dL/dbias = gradY summed over the batch.
    /// </summary>
    public static (double[] GradX, double[] GradWeight, double[] GradBias) Backward(
        double[] x, double[] weight, double[] gradY, int n, int inFeatures, int outFeatures)
    {
        Check.Length(gradY, n * outFeatures, nameof(gradY));
        var gx = new double[n * inFeatures];
        var gw = new double[outFeatures * inFeatures];
        var gb = new double[outFeatures];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < outFeatures; o++)
            {
                double g = gradY[b * outFeatures + o];
                gb[o] += g;
                for (int i = 0; i < inFeatures; i++)
                {
                    gx[b * inFeatures + i] += g * weight[o * inFeatures + i];
                    gw[o * inFeatures + i] += g * x[b * inFeatures + i];
                }
            }
        return (gx, gw, gb);
    }
}
