namespace Kiln.Tests.Reference;

/// <summary>Element-wise a * b of two tensors of the same shape (no broadcasting).</summary>
public static class RefMul
{
    /// <summary>y[i] = a[i] * b[i].</summary>
    public static double[] Forward(double[] a, double[] b)
    {
        Check.Length(b, a.Length, nameof(b));
        return a.Select((v, i) => v * b[i]).ToArray();
    }

    /// <summary>Given dL/dy: dL/da = gradY * b, dL/db = gradY * a.</summary>
    public static (double[] GradA, double[] GradB) Backward(double[] a, double[] b, double[] gradY)
    {
        Check.Length(b, a.Length, nameof(b));
        Check.Length(gradY, a.Length, nameof(gradY));
        return (gradY.Select((g, i) => g * b[i]).ToArray(), gradY.Select((g, i) => g * a[i]).ToArray());
    }
}
