namespace Kiln.IO;

/// <summary>
/// A tensor whose values are known at import: an initializer, a Constant, or the result of shape arithmetic
/// folded with concrete input shapes. Values are kept as doubles (exact for f32 and for the int64 sizes
/// exporters compute with); <see cref="IsInteger"/> remembers an integer element type.
/// </summary>
internal sealed class OnnxTensor
{
    public OnnxTensor(long[] dims, double[] values, bool isInteger)
    {
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new KilnException($"a tensor has a negative dimension [{string.Join(",", dims)}].");
            count = checked(count * d);
        }
        if (count != values.Length) throw new KilnException($"a tensor of shape [{string.Join(",", dims)}] holds {values.Length} values.");
        Dims = dims;
        Values = values;
        IsInteger = isInteger;
    }

    public long[] Dims { get; }
    public double[] Values { get; }
    public bool IsInteger { get; }
    public int Rank => Dims.Length;
    public long Count => Values.Length;

    public static OnnxTensor Scalar(double v, bool isInteger) => new(Array.Empty<long>(), new[] { v }, isInteger);
    public static OnnxTensor Vector(IEnumerable<long> v) => new(new[] { (long)v.Count() }, v.Select(x => (double)x).ToArray(), true);

    public long[] AsLongs() => Values.Select(v => (long)v).ToArray();
    public float[] AsFloats() => Values.Select(v => (float)v).ToArray();

    /// <summary>The single value of a one-element tensor.</summary>
    public double ScalarValue(string what) =>
        Count == 1 ? Values[0] : throw new KilnException($"{what} must hold one value, it has shape [{string.Join(",", Dims)}].");

    public string ShapeText => $"[{string.Join(",", Dims)}]";

    /// <summary>The Kiln shape of this tensor (every dimension must fit an int, rank 1 or more).</summary>
    public Shape ToShape() => new(Dims.Length == 0 ? new[] { 1 } : Dims.Select(d => checked((int)d)).ToArray());

    /// <summary>Row-major strides of these dims.</summary>
    public static long[] Strides(long[] dims)
    {
        var s = new long[dims.Length];
        long acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }
}
