using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefGlobalAvgPool2d"/> is torch.nn.functional.adaptive_avg_pool2d(x, 1).</summary>
public sealed class GlobalAvgPool2dReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "global_avg_pool2d" })]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        var s = f["x"].Shape;
        ReferenceAssert.MatchesFixture(RefGlobalAvgPool2d.Forward(f["x"].Data, s[0], s[1], s[2], s[3]), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "global_avg_pool2d" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var s = f["x"].Shape;
        ReferenceAssert.MatchesFixture(RefGlobalAvgPool2d.Backward(f["grad_y"].Data, s[0], s[1], s[2], s[3]), f, "grad_x");
    }

    [TestCase(2, 3, 4, 5)]
    [TestCase(1, 1, 1, 1)]
    public void BackwardMatchesFiniteDifferences(int n, int c, int h, int w)
    {
        var x = RandomData.Uniform(n * c * h * w, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefGlobalAvgPool2d.Forward(v, n, c, h, w), x,
            g => RefGlobalAvgPool2d.Backward(g, n, c, h, w));
    }
}
