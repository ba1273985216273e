namespace Kiln.Tests.Reference;

/// <summary>One tensor of a fixture: its shape (empty for a scalar) and row-major values.</summary>
public sealed record FixtureTensor(int[] Shape, double[] Data)
{
    /// <summary>The values as f32, for uploading to the GPU (inputs are stored f32-exact, so nothing is lost).</summary>
    public float[] Floats => Data.Select(v => (float)v).ToArray();

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Elements => Shape.Aggregate(1, (a, d) => a * d);

    /// <summary>Dimension <paramref name="i"/> of the shape.</summary>
    public int Dim(int i) => Shape[i];

    /// <summary>The single value of a scalar (or one-element) tensor.</summary>
    public double Scalar => Data.Length == 1 ? Data[0] : throw new InvalidOperationException($"{Data.Length} values, not a scalar");
}
