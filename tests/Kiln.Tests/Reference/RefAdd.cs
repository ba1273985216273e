namespace Kiln.Tests.Reference;

/// <summary>Element-wise a + b of two tensors of the same shape (no broadcasting).</summary>
public static class RefAdd
{
    /// <summary>y[i] = a[i] + b[i].</summary>
    public static double[] Forward(double[] a, double[] b)
    {
        Check.Length(b, a.Length, nameof(b));
        var y = new double[a.Length];
        for (int i = 0; i < y.Length; i++) y[i] = a[i] + b[i];
        return y;
    }

    /// <summary>Given dL/dy: both inputs receive a copy of gradY.</summary>
    public static (double[] GradA, double[] GradB) Backward(double[] gradY) =>
        ((double[])gradY.Clone(), (double[])gradY.Clone());
}
