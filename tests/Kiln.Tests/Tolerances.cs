namespace Kiln.Tests;

/// <summary>Error bounds (max |kiln - ref| / max |ref| per tensor) used across the suite.</summary>
public static class Tolerances
{
    /// <summary>f32 forward passes: sums of a few hundred products in a different order than the reference.</summary>
    public const double Forward = 1e-4;
    /// <summary>f32 gradients: longer reductions (over batch and pixels) than the forward pass.</summary>
    public const double Gradient = 1e-3;
    /// <summary>
    /// f16 activation storage against the f32 run of the same layer: every stored activation and activation gradient is
    /// rounded to 11 significant bits (relative error up to 2^-11 = 4.9e-4 each), and a layer's output carries the
    /// roundings of its inputs and of itself, its gradients those of the output gradient too.
    /// </summary>
    public const double F16Storage = 1e-2;
}
