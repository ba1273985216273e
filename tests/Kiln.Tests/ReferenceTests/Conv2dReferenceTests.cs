using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefConv2d"/> is torch.nn.functional.conv2d (stride, padding, dilation, groups, optional bias).</summary>
public sealed class Conv2dReferenceTests
{
    static Conv2dSpec Spec(Fixture f) => FixtureSpecs.Conv2d(f);

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv2d" })]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefConv2d.Forward(Spec(f), f["x"].Data, f["weight"].Data, f.DataOrNull("bias")), f, "y");

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv2d" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (gx, gw, gb) = RefConv2d.Backward(Spec(f), f["x"].Data, f["weight"].Data, f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(gx, f, "grad_x");
        ReferenceAssert.MatchesFixture(gw, f, "grad_weight");
        if (f.Has("bias")) ReferenceAssert.MatchesFixture(gb, f, "grad_bias");
    }

    [Test]
    public void CourseExampleIsExact()
    {
        var f = Fixture.Load("conv2d_golden");
        var y = RefConv2d.Forward(Spec(f), f["x"].Data, f["weight"].Data, null);
        Assert.That(y, Is.EqualTo(new double[] { 12, 12, 17, 10, 17, 19, 9, 6, 14 }));
    }

    static IEnumerable<TestCaseData> Specs()
    {
        yield return new TestCaseData(new Conv2dSpec(2, 3, 5, 6, 2, 3, 3)).SetArgDisplayNames("Plain");
        yield return new TestCaseData(new Conv2dSpec(2, 3, 7, 6, 4, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1)).SetArgDisplayNames("StridedPadded");
        yield return new TestCaseData(new Conv2dSpec(1, 2, 8, 7, 3, 3, 2, PH: 2, PW: 1, DH: 2, DW: 2)).SetArgDisplayNames("DilatedRectangularKernel");
        yield return new TestCaseData(new Conv2dSpec(2, 4, 5, 5, 6, 3, 3, PH: 1, PW: 1, Groups: 2)).SetArgDisplayNames("Grouped");
        yield return new TestCaseData(new Conv2dSpec(1, 3, 5, 4, 3, 3, 3, SH: 2, SW: 1, PH: 1, PW: 1, Groups: 3)).SetArgDisplayNames("Depthwise");
        yield return new TestCaseData(new Conv2dSpec(1, 2, 8, 9, 2, 4, 3, SH: 3, SW: 2, PH: 1, PW: 0)).SetArgDisplayNames("StrideLeavesRowsUnused");
    }

    [TestCaseSource(nameof(Specs))]
    public void BackwardMatchesFiniteDifferences(Conv2dSpec s)
    {
        var x = RandomData.Uniform(s.XLength, 1);
        var w = RandomData.Uniform(s.WeightLength, 2);
        var b = RandomData.Uniform(s.Cout, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefConv2d.Forward(s, v, w, b), x, g => RefConv2d.Backward(s, x, w, g).GradX);
        ReferenceAssert.MatchesFiniteDifferences("weight", v => RefConv2d.Forward(s, x, v, b), w, g => RefConv2d.Backward(s, x, w, g).GradWeight);
        ReferenceAssert.MatchesFiniteDifferences("bias", v => RefConv2d.Forward(s, x, w, v), b, g => RefConv2d.Backward(s, x, w, g).GradBias);
    }

    [Test]
    public void GroupsSeeOnlyTheirOwnInputChannels()
    {
        // Two groups of one channel each: output channel 1 must not change when input channel 0 does.
        var s = new Conv2dSpec(1, 2, 3, 3, 2, 3, 3, Groups: 2);
        var w = RandomData.Uniform(s.WeightLength, 4);
        var x = RandomData.Uniform(s.XLength, 5);
        var changed = (double[])x.Clone();
        for (int i = 0; i < 9; i++) changed[i] += 1;
        Assert.That(RefConv2d.Forward(s, changed, w, null)[1], Is.EqualTo(RefConv2d.Forward(s, x, w, null)[1]));
    }
}
