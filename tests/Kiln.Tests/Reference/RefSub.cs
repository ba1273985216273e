namespace Kiln.Tests.Reference;

/// <summary>Element-wise a - b of two tensors of the same shape (no broadcasting).</summary>
public static class RefSub
{
    /// <summary>y[i] = a[i] - b[i].</summary>
    public static double[] Forward(double[] a, double[] b)
    {
        Check.Length(b, a.Length, nameof(b));
        return a.Select((v, i) => v - b[i]).ToArray();
    }

    /// <summary>Given dL/dy: dL/da = gradY, dL/db = -gradY.</summary>
    public static (double[] GradA, double[] GradB) Backward(double[] gradY) =>
        ((double[])gradY.Clone(), gradY.Select(g => -g).ToArray());
}
