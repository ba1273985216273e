namespace Kiln.Cli.SelfTest;

/// <summary>One checked case at one precision: the kernels the registry picked, the worst forward and gradient errors, pass or fail.</summary>
internal sealed record SelfTestResult(string Operation, string Case, Precision Precision, string Kernels, double ForwardError, double GradientError, string? Error)
{
    public bool Passed => Error == null && ForwardError <= SelfTestTolerances.Forward(Precision) && GradientError <= SelfTestTolerances.Gradient(Precision);

    /// <summary>A case that could not run: the exception's message in place of its errors.</summary>
    public static SelfTestResult Failed(string operation, string description, Precision precision, string kernels, Exception e) =>
        new(operation, description, precision, kernels, double.NaN, double.NaN, e.Message);
}
