namespace Kiln.Tests.Reference;

/// <summary>
/// torch.softmax(x, dim) over x seen as [N, C, inner]: N the product of the dimensions before dim, C its length, inner
/// the product of those after it ([N, C] with dim 1: inner = 1; [N, C, H, W]: inner = H*W).
/// </summary>
public static class RefSoftmax
{
    /// <summary>(N, C, inner) of a shape for softmax along <paramref name="axis"/> (negative counts from the end).</summary>
    public static (int N, int C, int Inner) Split(int[] shape, int axis)
    {
        if (axis < 0) axis += shape.Length;
        if (axis < 0 || axis >= shape.Length) throw new ArgumentOutOfRangeException(nameof(axis));
        return (shape.Take(axis).Aggregate(1, (p, d) => p * d), shape[axis], shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d));
    }

    /// <summary>y[n, c, i] = exp(x[n, c, i] - max_c) / sum_c exp(x[n, c, i] - max_c).</summary>
    public static double[] Forward(double[] x, int n, int c, int inner)
    {
        Check.Length(x, n * c * inner, nameof(x));
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < inner; i++)
            {
                int at(int k) => (b * c + k) * inner + i;
                double m = double.NegativeInfinity;
                for (int k = 0; k < c; k++) m = Math.Max(m, x[at(k)]);
                double s = 0;
                for (int k = 0; k < c; k++) s += Math.Exp(x[at(k)] - m);
                for (int k = 0; k < c; k++) y[at(k)] = Math.Exp(x[at(k)] - m) / s;
            }
        return y;
    }

    /// <summary>Given dL/dy: dx = y * (dy - sum_c dy * y).</summary>
    public static double[] Backward(double[] x, double[] gradY, int n, int c, int inner)
    {
        Check.Length(gradY, n * c * inner, nameof(gradY));
        var y = Forward(x, n, c, inner);
        var gx = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < inner; i++)
            {
                int at(int k) => (b * c + k) * inner + i;
                double dot = 0;
                for (int k = 0; k < c; k++) dot += gradY[at(k)] * y[at(k)];
                for (int k = 0; k < c; k++) gx[at(k)] = y[at(k)] * (gradY[at(k)] - dot);
            }
        return gx;
    }
}
