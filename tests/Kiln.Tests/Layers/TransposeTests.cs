using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary><see cref="Transpose"/> on the GPU against <see cref="RefTranspose"/> and the PyTorch fixtures.</summary>
public sealed class TransposeTests : GpuTest
{
    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    [TestCase(new[] { 4, 5 }, new[] { 1, 0 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 0, 2, 3, 1 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 0, 2 })]
    [TestCase(new[] { 2, 1, 3, 2, 2, 3 }, new[] { 5, 0, 4, 1, 3, 2 })]
    [TestCase(new[] { 7 }, new[] { 0 })]
    public void ForwardAndBackwardMatchReference(int[] shape, int[] perm)
    {
        int count = RefBroadcast.Count(shape);
        var x = FixtureLayer.Uniform(count, shape.Sum());
        var gy = FixtureLayer.Uniform(count, shape.Sum() + 1);
        var res = LayerHarness.Run(Context, new Transpose(perm), new[] { new Shape(shape) }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(RefTranspose.Shape(shape, perm))));
        Assert.That(RelativeError.MaxRelative(res.Output, RefTranspose.Forward(D(x), shape, perm)), Is.EqualTo(0), "y is a copy");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefTranspose.Backward(D(gy), shape, perm)), Is.EqualTo(0), "grad_x is a copy");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "transpose" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new Transpose(f.Ints("perm")), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [Test]
    public void NotAPermutation_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Transpose(0, 0));
        Assert.Throws<ArgumentException>(() => new Transpose(1, 2));
        Assert.Throws<ArgumentException>(() => new Transpose());
    }

    [Test]
    public void RankMismatch_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Transpose(1, 0), new[] { new Shape(2, 3, 4) }, new[] { new float[24] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,3,4]"));
    }
}
