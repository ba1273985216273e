using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefConvTranspose2d"/> is torch.nn.functional.conv_transpose2d.</summary>
public sealed class ConvTranspose2dReferenceTests
{
    static ConvTranspose2dSpec Spec(Fixture f) => FixtureSpecs.ConvTranspose2d(f);

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv_transpose2d" })]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefConvTranspose2d.Forward(Spec(f), f["x"].Data, f["weight"].Data, f.DataOrNull("bias")), f, "y");

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv_transpose2d" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (gx, gw, gb) = RefConvTranspose2d.Backward(Spec(f), f["x"].Data, f["weight"].Data, f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(gx, f, "grad_x");
        ReferenceAssert.MatchesFixture(gw, f, "grad_weight");
        if (f.Has("bias")) ReferenceAssert.MatchesFixture(gb, f, "grad_bias");
    }

    static IEnumerable<TestCaseData> Specs()
    {
        yield return new TestCaseData(new ConvTranspose2dSpec(2, 3, 3, 4, 2, 3, 3)).SetArgDisplayNames("Plain");
        yield return new TestCaseData(new ConvTranspose2dSpec(2, 3, 3, 4, 2, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, OPH: 1, OPW: 1)).SetArgDisplayNames("Stride2OutputPadding1");
        yield return new TestCaseData(new ConvTranspose2dSpec(1, 4, 3, 3, 3, 2, 2, SH: 2, SW: 2)).SetArgDisplayNames("Kernel2Stride2");
        yield return new TestCaseData(new ConvTranspose2dSpec(1, 2, 3, 2, 2, 2, 3, SH: 3, SW: 2, OPH: 2)).SetArgDisplayNames("StrideAboveKernel");
        yield return new TestCaseData(new ConvTranspose2dSpec(1, 4, 3, 3, 6, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, Groups: 2)).SetArgDisplayNames("Grouped");
        yield return new TestCaseData(new ConvTranspose2dSpec(1, 2, 4, 3, 3, 3, 2, PH: 2, PW: 1, DH: 2, DW: 2)).SetArgDisplayNames("Dilated");
    }

    [TestCaseSource(nameof(Specs))]
    public void BackwardMatchesFiniteDifferences(ConvTranspose2dSpec s)
    {
        var x = RandomData.Uniform(s.XLength, 1);
        var w = RandomData.Uniform(s.WeightLength, 2);
        var b = RandomData.Uniform(s.Cout, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefConvTranspose2d.Forward(s, v, w, b), x, g => RefConvTranspose2d.Backward(s, x, w, g).GradX);
        ReferenceAssert.MatchesFiniteDifferences("weight", v => RefConvTranspose2d.Forward(s, x, v, b), w, g => RefConvTranspose2d.Backward(s, x, w, g).GradWeight);
        ReferenceAssert.MatchesFiniteDifferences("bias", v => RefConvTranspose2d.Forward(s, x, w, v), b, g => RefConvTranspose2d.Backward(s, x, w, g).GradBias);
    }

    [TestCase(1, 1, 0, 0, 1, TestName = "IsTheAdjointOfConv2d_Plain")]
    [TestCase(2, 1, 1, 1, 1, TestName = "IsTheAdjointOfConv2d_StridedPaddedWithOutputPadding")]
    [TestCase(2, 2, 1, 0, 2, TestName = "IsTheAdjointOfConv2d_GroupedDilated")]
    [TestCase(3, 2, 2, 2, 3, TestName = "IsTheAdjointOfConv2d_Stride3OutputPadding2DilatedGrouped")]
    public void IsTheAdjointOfConv2d(int stride, int dilation, int padding, int outputPadding, int groups)
    {
        // PyTorch defines conv_transpose2d as the input-gradient of conv2d, so <convT(x), y> = <x, conv(y)> with the
        // same weight array ([Cin_t, Cout_t/g, k, k] is conv's [Cout_c, Cin_c/g, k, k]). This ties the transposed
        // reference to the PyTorch-checked conv reference for every attribute, dilation and groups included.
        var t = new ConvTranspose2dSpec(2, 2 * groups, 4, 3, 3 * groups, 3, 2, stride, stride, padding, padding,
            outputPadding, 0, dilation, dilation, groups);
        var c = new Conv2dSpec(t.N, t.Cout, t.OH, t.OW, t.Cin, t.KH, t.KW, t.SH, t.SW, t.PH, t.PW, t.DH, t.DW, t.Groups);
        Assert.That((c.OH, c.OW), Is.EqualTo((t.H, t.W)), "conv maps convT's output shape back to its input shape");
        var w = RandomData.Uniform(t.WeightLength, 6);
        var x = RandomData.Uniform(t.XLength, 7);
        var y = RandomData.Uniform(c.XLength, 8);
        double lhs = RefConvTranspose2d.Forward(t, x, w, null).Zip(y, (a, b) => a * b).Sum();
        double rhs = RefConv2d.Forward(c, y, w, null).Zip(x, (a, b) => a * b).Sum();
        Assert.That(lhs, Is.EqualTo(rhs).Within(1e-12 * (Math.Abs(rhs) + 1)));
    }
}
