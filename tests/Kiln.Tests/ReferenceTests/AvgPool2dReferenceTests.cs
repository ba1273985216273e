using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefAvgPool2d"/> is torch.nn.functional.avg_pool2d (padding 0).</summary>
public sealed class AvgPool2dReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "avg_pool2d" })]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefAvgPool2d.Forward(FixtureSpecs.Pool2d(f), f["x"].Data), f, "y");

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "avg_pool2d" })]
    public void BackwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefAvgPool2d.Backward(FixtureSpecs.Pool2d(f), f["grad_y"].Data), f, "grad_x");

    [TestCase(2, 2, 4, 6, 2, 2, 2, 2)]
    [TestCase(1, 2, 7, 5, 3, 3, 2, 2)]
    [TestCase(1, 1, 5, 6, 2, 3, 1, 3)]
    public void BackwardMatchesFiniteDifferences(int n, int c, int h, int w, int kh, int kw, int sh, int sw)
    {
        var s = new Pool2dSpec(n, c, h, w, kh, kw, sh, sw);
        var x = RandomData.Uniform(s.XLength, 1);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefAvgPool2d.Forward(s, v), x, g => RefAvgPool2d.Backward(s, g));
    }

    [Test]
    public void RowsNoWindowReachesGetNoGradient()
    {
        // 3x2 input, 2x2 window, stride 2: one output; the last row is outside every window.
        var s = new Pool2dSpec(1, 1, 3, 2, 2);
        Assert.That(RefAvgPool2d.Forward(s, new double[] { 1, 2, 3, 4, 100, 100 }), Is.EqualTo(new double[] { 2.5 }));
        Assert.That(RefAvgPool2d.Backward(s, new double[] { 4 }), Is.EqualTo(new double[] { 1, 1, 1, 1, 0, 0 }));
    }
}
