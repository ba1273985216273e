namespace Kiln.Tests.Reference;

/// <summary>
/// numpy.matmul in double for operands of rank 2 or more: A [..., M, K] times B [..., K, N], batch dimensions
/// broadcast (right-aligned, size 1 repeats). Written as plain loops over the output's batch index, mapped back to
/// each operand's matrix; the backward accumulates each product's gradient into the operand matrix it read.
/// </summary>
public static class RefMatMul
{
    /// <summary>The output shape.</summary>
    public static int[] Shape(int[] a, int[] b)
    {
        if (a[^1] != b[^2]) throw new ArgumentException("inner dimensions differ");
        return RefBroadcast.Shape(a[..^2], b[..^2]).Append(a[^2]).Append(b[^1]).ToArray();
    }

    public static double[] Forward(double[] a, int[] aShape, double[] b, int[] bShape)
    {
        var y = new double[RefBroadcast.Count(Shape(aShape, bShape))];
        ForEachProduct(aShape, bShape, (ia, ib, iy, m, k, n) => y[iy] += a[ia] * b[ib]);
        return y;
    }

    /// <summary>Given dL/dy: dA[m,k] += dY[m,n] B[k,n] and dB[k,n] += A[m,k] dY[m,n] over every product term.</summary>
    public static (double[] GradA, double[] GradB) Backward(double[] a, int[] aShape, double[] b, int[] bShape, double[] gradY)
    {
        Check.Length(gradY, RefBroadcast.Count(Shape(aShape, bShape)), nameof(gradY));
        var ga = new double[a.Length];
        var gb = new double[b.Length];
        ForEachProduct(aShape, bShape, (ia, ib, iy, m, k, n) =>
        {
            ga[ia] += gradY[iy] * b[ib];
            gb[ib] += a[ia] * gradY[iy];
        });
        return (ga, gb);
    }

    /// <summary>Calls term(index in A, index in B, index in y, m, k, n) for every multiply of the product.</summary>
    static void ForEachProduct(int[] aShape, int[] bShape, Action<int, int, int, int, int, int> term)
    {
        var y = Shape(aShape, bShape);
        int M = aShape[^2], K = aShape[^1], N = bShape[^1];
        var batch = y[..^2];
        int batchCount = RefBroadcast.Count(batch);
        for (int z = 0; z < batchCount; z++)
        {
            int za = BatchIndex(z, batch, aShape[..^2]), zb = BatchIndex(z, batch, bShape[..^2]);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++)
                    for (int k = 0; k < K; k++)
                        term((za * M + m) * K + k, (zb * K + k) * N + n, (z * M + m) * N + n, m, k, n);
        }
    }

    /// <summary>The operand's batch element that output batch element z reads (size-1 dimensions read 0).</summary>
    static int BatchIndex(int z, int[] batch, int[] operand)
    {
        int index = 0, stride = 1;
        for (int d = batch.Length - 1; d >= 0; d--)
        {
            int coord = z % batch[d];
            z /= batch[d];
            int od = d - (batch.Length - operand.Length);
            if (od < 0) continue;
            if (operand[od] != 1) index += coord * stride;
            stride *= operand[od];
        }
        return index;
    }
}
