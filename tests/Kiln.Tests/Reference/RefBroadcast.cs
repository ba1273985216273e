namespace Kiln.Tests.Reference;

/// <summary>
/// NumPy broadcasting of a binary op in double, written independently of the kernels: the output shape, and for every
/// output element the row-major coordinates mapped back to each input (a size-1 dimension reads index 0). The backward
/// sums the local gradient of every output element into the input element it read.
/// </summary>
public static class RefBroadcast
{
    /// <summary>The broadcast shape (right-aligned; equal dimensions or one of them 1).</summary>
    public static int[] Shape(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var y = new int[rank];
        for (int k = 0; k < rank; k++)
        {
            int da = At(a, k, rank), db = At(b, k, rank);
            if (da != db && da != 1 && db != 1) throw new ArgumentException($"[{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast");
            y[k] = Math.Max(da, db);
        }
        return y;
    }

    /// <summary>y = op(a, b) elementwise over the broadcast shape.</summary>
    public static double[] Forward(Func<double, double, double> op, double[] a, int[] aShape, double[] b, int[] bShape)
    {
        var y = Shape(aShape, bShape);
        var result = new double[Count(y)];
        for (int i = 0; i < result.Length; i++) result[i] = op(a[Index(i, y, aShape)], b[Index(i, y, bShape)]);
        return result;
    }

    /// <summary>
    /// Given dL/dy, the gradients of a and b: grad(dy, a, b) is the op's local gradient times dy at one output element
    /// (for each input), summed over the output elements that read each input element.
    /// </summary>
    public static (double[] GradA, double[] GradB) Backward(Func<double, double, double, (double A, double B)> grad,
        double[] a, int[] aShape, double[] b, int[] bShape, double[] gradY)
    {
        var y = Shape(aShape, bShape);
        Check.Length(gradY, Count(y), nameof(gradY));
        var ga = new double[a.Length];
        var gb = new double[b.Length];
        for (int i = 0; i < gradY.Length; i++)
        {
            int ia = Index(i, y, aShape), ib = Index(i, y, bShape);
            var (da, db) = grad(gradY[i], a[ia], b[ib]);
            ga[ia] += da;
            gb[ib] += db;
        }
        return (ga, gb);
    }

    /// <summary>The forward and local gradient (times dy) of add, sub, mul or div, as Kiln's layers and PyTorch define them.</summary>
    public static (Func<double, double, double> Forward, Func<double, double, double, (double A, double B)> Grad) Op(string name) => name switch
    {
        "add" => ((a, b) => a + b, (g, a, b) => (g, g)),
        "sub" => ((a, b) => a - b, (g, a, b) => (g, -g)),
        "mul" => ((a, b) => a * b, (g, a, b) => (g * b, g * a)),
        "div" => ((a, b) => a / b, (g, a, b) => (g / b, -g * (a / b) / b)),
        _ => throw new ArgumentException($"unknown binary op {name}", nameof(name)),
    };

    /// <summary>The element count of a shape (1 for rank 0).</summary>
    public static int Count(int[] shape) => shape.Aggregate(1, (p, d) => p * d);

    /// <summary>The element of input <paramref name="x"/> that output element <paramref name="i"/> (of shape y) reads.</summary>
    static int Index(int i, int[] y, int[] x)
    {
        int index = 0, stride = 1, rem = i;
        for (int k = y.Length - 1; k >= 0; k--)
        {
            int coord = rem % y[k];
            rem /= y[k];
            int xk = k - (y.Length - x.Length);
            if (xk < 0) continue;
            if (x[xk] != 1) index += coord * stride;
            stride *= x[xk];
        }
        return index;
    }

    static int At(int[] s, int k, int rank)
    {
        int i = k - (rank - s.Length);
        return i < 0 ? 1 : s[i];
    }
}
