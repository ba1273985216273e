using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>The checking tools themselves: central differences and the relative error measure.</summary>
public sealed class FiniteDifferencesTests
{
    [Test]
    public void GradientOfAKnownFunction()
    {
        // f(x) = x0² x1 + sin(x2): gradient (2 x0 x1, x0², cos(x2)).
        var x = new[] { 0.7, -1.3, 0.4 };
        var g = FiniteDifferences.Gradient(v => v[0] * v[0] * v[1] + Math.Sin(v[2]), x);
        Assert.That(RelativeError.MaxRelative(g, new[] { 2 * 0.7 * -1.3, 0.49, Math.Cos(0.4) }), Is.LessThan(1e-9));
        Assert.That(x, Is.EqualTo(new[] { 0.7, -1.3, 0.4 }), "the input is restored");
    }

    [Test]
    public void BackwardErrorCatchesAWrongGradient()
    {
        var x = RandomData.Uniform(6, 1);
        double right = FiniteDifferences.BackwardError(v => v.Select(a => a * a).ToArray(), x, r => r.Select((g, i) => 2 * x[i] * g).ToArray());
        double wrong = FiniteDifferences.BackwardError(v => v.Select(a => a * a).ToArray(), x, r => r.Select((g, i) => x[i] * g).ToArray());
        Assert.That(right, Is.LessThan(1e-8));
        Assert.That(wrong, Is.GreaterThan(0.1));
    }

    [Test]
    public void RelativeErrorIsMaxAbsoluteDifferenceOverMaxAbsoluteExpected()
    {
        Assert.That(RelativeError.MaxRelative(new double[] { 1, 2.5, -4 }, new double[] { 1, 2, -5 }), Is.EqualTo(0.2));
        Assert.That(RelativeError.MaxRelative(new float[] { 1, 2 }, new double[] { 1, 2 }), Is.EqualTo(0));
        Assert.That(RelativeError.MaxRelative(new double[] { 1e-13 }, new double[] { 0 }), Is.EqualTo(0.1).Within(1e-12), "floored denominator");
        Assert.That(RelativeError.MaxRelative(new double[] { double.NaN }, new double[] { 1 }), Is.EqualTo(double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => RelativeError.MaxRelative(new double[] { 1 }, new double[] { 1, 2 }));
    }
}
