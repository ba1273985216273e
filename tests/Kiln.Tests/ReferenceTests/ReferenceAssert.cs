using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>The two comparisons every reference test makes, with the measured error in the failure message.</summary>
public static class ReferenceAssert
{
    /// <summary>A reference result matches the fixture's tensor (same length, relative error within PyTorch tolerance).</summary>
    public static void MatchesFixture(double[] actual, Fixture fixture, string tensor)
    {
        var expected = fixture[tensor].Data;
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{fixture.Name}: length of {tensor}");
        Assert.That(RelativeError.MaxRelative(actual, expected), Is.LessThan(ReferenceTolerances.PyTorch),
            $"{fixture.Name}: {tensor}");
    }

    /// <summary>A scalar reference result (a loss) matches the fixture's scalar tensor.</summary>
    public static void MatchesFixture(double actual, Fixture fixture, string tensor) =>
        MatchesFixture(new[] { actual }, fixture, tensor);

    /// <summary>
    /// <paramref name="backward"/>(gradY) equals the finite-difference gradient of sum(r * forward(x)) at
    /// <paramref name="x"/> for a fixed random r.
    /// </summary>
    public static void MatchesFiniteDifferences(string what, Func<double[], double[]> forward, double[] x,
        Func<double[], double[]> backward)
    {
        double error = FiniteDifferences.BackwardError(forward, x, backward);
        Assert.That(error, Is.LessThan(ReferenceTolerances.FiniteDifference), what);
    }

    /// <summary>As <see cref="MatchesFiniteDifferences"/> for a scalar function (a loss) with upstream gradient r.</summary>
    public static void MatchesFiniteDifferences(string what, Func<double[], double> forward, double[] x,
        Func<double, double[]> backward)
    {
        double error = FiniteDifferences.ScalarBackwardError(forward, x, backward);
        Assert.That(error, Is.LessThan(ReferenceTolerances.FiniteDifference), what);
    }
}
