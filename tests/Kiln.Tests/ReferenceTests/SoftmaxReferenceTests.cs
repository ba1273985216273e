using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefSoftmax"/> is torch.softmax(x, dim) (dim 1 unless a fixture says otherwise).</summary>
public sealed class SoftmaxReferenceTests
{
    static (int N, int C, int Inner) Dims(Fixture f) => RefSoftmax.Split(f["x"].Shape, f.Int("axis", 1));

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
    public void SplitFollowsTheAxis()
    {
        Assert.That(RefSoftmax.Split(new[] { 2, 3, 4, 5 }, 1), Is.EqualTo((2, 3, 20)));
        Assert.That(RefSoftmax.Split(new[] { 2, 3, 4, 5 }, -1), Is.EqualTo((24, 5, 1)));
        Assert.That(RefSoftmax.Split(new[] { 2, 3, 4 }, 0), Is.EqualTo((1, 2, 12)));
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
