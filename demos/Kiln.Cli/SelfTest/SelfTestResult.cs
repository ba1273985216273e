namespace Kiln.Cli.SelfTest;

/// <summary>One checked case: the kernels the registry picked, the worst forward and gradient errors, pass or fail.</summary>
internal sealed record SelfTestResult(string Operation, string Case, string Kernels, double ForwardError, double GradientError, string? Error)
{
    public bool Passed => Error == null && ForwardError <= SelfTestTolerances.Forward && GradientError <= SelfTestTolerances.Gradient;
}
