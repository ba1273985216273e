using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefMatMul"/> is torch.matmul (tests/fixtures/make_fixtures_layers.py) and its gradient matches central differences.</summary>
public sealed class MatMulReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "matmul" })]
    public void MatchesPyTorch(Fixture f)
    {
        var (a, b) = (f["x0"], f["x1"]);
        Assert.That(RefMatMul.Shape(a.Shape, b.Shape), Is.EqualTo(f["y"].Shape), "shape");
        ReferenceAssert.MatchesFixture(RefMatMul.Forward(a.Data, a.Shape, b.Data, b.Shape), f, "y");
        var (ga, gb) = RefMatMul.Backward(a.Data, a.Shape, b.Data, b.Shape, f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(ga, f, "grad_x0");
        ReferenceAssert.MatchesFixture(gb, f, "grad_x1");
    }

    [TestCase(new[] { 3, 4 }, new[] { 4, 2 })]
    [TestCase(new[] { 2, 1, 3, 2 }, new[] { 3, 2, 4 })]
    [TestCase(new[] { 3, 2 }, new[] { 2, 2, 3 })]
    public void BackwardMatchesFiniteDifferences(int[] aShape, int[] bShape)
    {
        var a = RandomData.Uniform(RefBroadcast.Count(aShape), 7);
        var b = RandomData.Uniform(RefBroadcast.Count(bShape), 8);
        ReferenceAssert.MatchesFiniteDifferences("x0", v => RefMatMul.Forward(v, aShape, b, bShape), a,
            g => RefMatMul.Backward(a, aShape, b, bShape, g).GradA);
        ReferenceAssert.MatchesFiniteDifferences("x1", v => RefMatMul.Forward(a, aShape, v, bShape), b,
            g => RefMatMul.Backward(a, aShape, b, bShape, g).GradB);
    }

    [Test]
    public void TwoByTwoProductIsTheTextbookOne() =>
        Assert.That(RefMatMul.Forward(new double[] { 1, 2, 3, 4 }, new[] { 2, 2 }, new double[] { 5, 6, 7, 8 }, new[] { 2, 2 }),
            Is.EqualTo(new double[] { 19, 22, 43, 50 }));
}
