using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefSoftmax"/> is torch.softmax(x, dim=1).</summary>
public sealed class SoftmaxReferenceTests
{
    static (int N, int C, int Inner) Dims(Fixture f)
    {
        var s = f["x"].Shape;
        return (s[0], s[1], s.Length == 4 ? s[2] * s[3] : 1);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "softmax" })]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        var (n, c, inner) = Dims(f);
        ReferenceAssert.MatchesFixture(RefSoftmax.Forward(f["x"].Data, n, c, inner), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "softmax" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (n, c, inner) = Dims(f);
        ReferenceAssert.MatchesFixture(RefSoftmax.Backward(f["x"].Data, f["grad_y"].Data, n, c, inner), f, "grad_x");
    }

    [TestCase(3, 5, 1)]
    [TestCase(2, 4, 6)]
    [TestCase(1, 1, 3)]
    public void BackwardMatchesFiniteDifferences(int n, int c, int inner)
    {
        var x = RandomData.Uniform(n * c * inner, 5, -3, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefSoftmax.Forward(v, n, c, inner), x, g => RefSoftmax.Backward(x, g, n, c, inner));
    }

    [Test]
    public void RowsSumToOne()
    {
        var y = RefSoftmax.Forward(new double[] { 1000, 1001, 1002, -5, 0, 5 }, 2, 3, 1);
        Assert.That(y.Take(3).Sum(), Is.EqualTo(1).Within(1e-12));
        Assert.That(y.Skip(3).Sum(), Is.EqualTo(1).Within(1e-12));
        Assert.That(y.All(double.IsFinite));
    }
}
