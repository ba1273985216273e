namespace Kiln.Layers;

/// <summary>
/// NumPy/ONNX broadcasting of two shapes: right-aligned, each pair of dimensions equal or one of them 1, the
/// missing leading dimensions of the shorter shape read as 1. Shapes are padded to <see cref="MaxRank"/> with
/// leading 1s for the kernels (shaders/binary/binary.bcast.*.comp).
/// </summary>
internal static class Broadcast
{
    /// <summary>The highest output rank the broadcast kernels take (their push constants hold this many dimensions).</summary>
    public const int MaxRank = 6;

    /// <summary>The broadcast shape of a and b; throws <see cref="GraphException"/> naming both shapes when they don't broadcast.</summary>
    public static Shape Result(string kind, Shape a, Shape b)
    {
        if (a == b) return a;
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int k = 0; k < rank; k++)
        {
            int da = Dim(a, k, rank), db = Dim(b, k, rank);
            if (da != db && da != 1 && db != 1)
                throw new GraphException($"{kind}: inputs {a} and {b} do not broadcast (dimension {k} of the result: {da} vs {db}).");
            dims[k] = Math.Max(da, db);
        }
        if (rank > MaxRank) throw new GraphException($"{kind}: broadcasting supports ranks up to {MaxRank}, got {a} and {b}.");
        return new Shape(dims);
    }

    /// <summary>The output's dimensions padded to <see cref="MaxRank"/> with leading 1s.</summary>
    public static int[] Dims(Shape output)
    {
        var d = new int[MaxRank];
        for (int k = 0; k < MaxRank; k++) d[k] = Dim(output, k, MaxRank);
        return d;
    }

    /// <summary>
    /// Element strides of <paramref name="x"/> along each of the <see cref="MaxRank"/> padded output dimensions, 0 where x
    /// has size 1 there (broadcast, or a size-1 output dimension).
    /// </summary>
    public static int[] Strides(Shape x, Shape output)
    {
        var s = new int[MaxRank];
        int stride = 1;
        for (int k = MaxRank - 1; k >= 0; k--)
        {
            int d = Dim(x, k, MaxRank);
            s[k] = d == 1 ? 0 : stride;
            stride *= d;
        }
        return s;
    }

    /// <summary>Dimension k of <paramref name="s"/> right-aligned into <paramref name="rank"/> dimensions (1 where s has none).</summary>
    static int Dim(Shape s, int k, int rank)
    {
        int i = k - (rank - s.Rank);
        return i < 0 ? 1 : s[i];
    }
}
