using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefTranspose"/> is torch.permute and its gradient matches central differences.</summary>
public sealed class TransposeReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "transpose" })]
    public void MatchesPyTorch(Fixture f)
    {
        var perm = f.Ints("perm");
        var x = f["x"];
        Assert.That(RefTranspose.Shape(x.Shape, perm), Is.EqualTo(f["y"].Shape));
        ReferenceAssert.MatchesFixture(RefTranspose.Forward(x.Data, x.Shape, perm), f, "y");
        ReferenceAssert.MatchesFixture(RefTranspose.Backward(f["grad_y"].Data, x.Shape, perm), f, "grad_x");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        int[] shape = { 2, 3, 4 }, perm = { 1, 2, 0 };
        var x = RandomData.Uniform(24, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefTranspose.Forward(v, shape, perm), x, g => RefTranspose.Backward(g, shape, perm));
    }

    [Test]
    public void MatrixTransposeSwapsRowsAndColumns() =>
        Assert.That(RefTranspose.Forward(new double[] { 1, 2, 3, 4, 5, 6 }, new[] { 2, 3 }, new[] { 1, 0 }), Is.EqualTo(new double[] { 1, 4, 2, 5, 3, 6 }));
}
