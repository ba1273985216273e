using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefMaxPool2d"/> is torch.nn.functional.max_pool2d (padding 0), ties included.</summary>
public sealed class MaxPool2dReferenceTests
{
    static Pool2dSpec Spec(Fixture f) => FixtureSpecs.Pool2d(f);

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "max_pool2d" })]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefMaxPool2d.Forward(Spec(f), f["x"].Data), f, "y");

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "max_pool2d" })]
    public void BackwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefMaxPool2d.Backward(Spec(f), f["x"].Data, f["grad_y"].Data), f, "grad_x");

    [TestCase(2, 3, 6, 5, 2, 2, 2, 2)]
    [TestCase(1, 2, 7, 7, 3, 3, 2, 2)]
    [TestCase(1, 1, 5, 6, 2, 3, 1, 3)]
    public void BackwardMatchesFiniteDifferences(int n, int c, int h, int w, int kh, int kw, int sh, int sw)
    {
        var s = new Pool2dSpec(n, c, h, w, kh, kw, sh, sw);
        var x = RandomData.Uniform(s.XLength, 1); // distinct values: no step of 1e-6 changes which one is the maximum
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefMaxPool2d.Forward(s, v), x, g => RefMaxPool2d.Backward(s, x, g));
    }

    [Test]
    public void TiesSendTheGradientToTheFirstMaximumInScanOrder()
    {
        var s = new Pool2dSpec(1, 1, 2, 2, 2);
        var gx = RefMaxPool2d.Backward(s, new double[] { 0, 5, 5, 5 }, new double[] { 1 });
        Assert.That(gx, Is.EqualTo(new double[] { 0, 1, 0, 0 }));
    }

    [Test]
    public void OverlappingWindowsAccumulateOnASharedMaximum()
    {
        // 1x3 input, 1x2 windows with stride 1: the middle element is the maximum of both windows.
        var s = new Pool2dSpec(1, 1, 1, 3, 1, 2, 1, 1);
        var gx = RefMaxPool2d.Backward(s, new double[] { 0, 9, 1 }, new double[] { 2, 3 });
        Assert.That(gx, Is.EqualTo(new double[] { 0, 5, 0 }));
    }
}
