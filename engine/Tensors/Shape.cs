using System.Collections;

namespace Kiln;

/// <summary>An immutable list of dimension sizes, e.g. [N, C, H, W].</summary>
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    /// <summary>Largest number of elements Kiln accepts in one tensor (the GPU addresses elements with 32-bit indices).</summary>
    public const long MaxElements = int.MaxValue;
    readonly int[] dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long n = 1;
        foreach (var d in dims)
        {
            if (d <= 0) throw new ArgumentException($"Shape {Format(dims)}: every dimension must be positive.");
            n *= d;
            if (n > MaxElements) throw new ArgumentException($"Shape {Format(dims)} has more than {MaxElements} elements.");
        }
        this.dims = (int[])dims.Clone();
        Elements = n;
    }

    public int Rank => dims.Length;
    public long Elements { get; }
    public int this[int axis] => dims[axis < 0 ? dims.Length + axis : axis];
    public int Count => dims.Length;
    public int[] ToArray() => (int[])dims.Clone();

    /// <summary>N, C, H, W of a rank-4 shape.</summary>
    public (int N, int C, int H, int W) Nchw
    {
        get
        {
            if (Rank != 4) throw new InvalidOperationException($"Shape {this} is not 4-D [N,C,H,W].");
            return (dims[0], dims[1], dims[2], dims[3]);
        }
    }

    public Shape With(int axis, int size)
    {
        var d = ToArray();
        d[axis < 0 ? d.Length + axis : axis] = size;
        return new Shape(d);
    }

    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    public override string ToString() => Format(dims);
    static string Format(int[] d) => "[" + string.Join(",", d) + "]";

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)dims).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => dims.GetEnumerator();
}
