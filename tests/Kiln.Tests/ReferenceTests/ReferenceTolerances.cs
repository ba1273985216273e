namespace Kiln.Tests.ReferenceTests;

/// <summary>Error bounds (<see cref="Reference.RelativeError"/>) for checking the double references themselves.</summary>
public static class ReferenceTolerances
{
    /// <summary>
    /// Reference vs PyTorch fixture: both compute in double from the same f32-exact inputs, so they differ only by
    /// summation order (~1e-15 relative); a wrong index or convention shows up as an error of order 1.
    /// </summary>
    public const double PyTorch = 1e-9;

    /// <summary>
    /// Backward vs central differences (eps 1e-6) in double: truncation (~eps² f''') and rounding (~1e-16 |f| / eps)
    /// each stay near 1e-10 on these small inputs.
    /// </summary>
    public const double FiniteDifference = 1e-6;
}
