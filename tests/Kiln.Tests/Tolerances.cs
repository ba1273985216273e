namespace Kiln.Tests;

/// <summary>Error bounds (max |kiln - ref| / max |ref| per tensor) used across the suite.</summary>
public static class Tolerances
{
    /// <summary>f32 forward passes: sums of a few hundred products in a different order than the reference.</summary>
    public const double Forward = 1e-4;
    /// <summary>f32 gradients: longer reductions (over batch and pixels) than the forward pass.</summary>
    public const double Gradient = 1e-3;
}
