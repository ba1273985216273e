namespace Kiln.Tests.Reference;

/// <summary>torch.clamp(x, min, max) with min &lt;= max.</summary>
public static class RefClip
{
    /// <summary>y[i] = min(max(x[i], min), max).</summary>
    public static double[] Forward(double[] x, double min, double max) =>
        x.Select(v => Math.Min(Math.Max(v, min), max)).ToArray();

    /// <summary>Given dL/dy: gradY where min &lt;= x &lt;= max (ties at the bounds pass, as torch.clamp's backward), else 0.</summary>
    public static double[] Backward(double[] x, double[] gradY, double min, double max)
    {
        Check.Length(gradY, x.Length, nameof(gradY));
        return x.Select((v, i) => v >= min && v <= max ? gradY[i] : 0).ToArray();
    }
}
