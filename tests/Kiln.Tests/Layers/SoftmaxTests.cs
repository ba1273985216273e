using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class SoftmaxTests : GpuTest
{
    [TestCase(4, 7, 0, 0)]
    [TestCase(2, 5, 3, 4)]
    [TestCase(3, 100, 0, 0)]
    [TestCase(1, 1, 2, 2)]
    [TestCase(2, 3, 9, 7)]
    public void ForwardAndBackwardMatchReference(int n, int c, int h, int w)
    {
        var shape = h == 0 ? new Shape(n, c) : new Shape(n, c, h, w);
        int inner = h == 0 ? 1 : h * w;
        var x = FixtureLayer.Uniform(shape.Elements, 300 + c).Select(v => v * 4).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, 400 + n);
        var res = LayerHarness.Run(Context, new Softmax(), new[] { shape }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(shape));
        Assert.That(RelativeError.MaxRelative(res.Output, RefSoftmax.Forward(ConvTest.D(x), n, c, inner)), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefSoftmax.Backward(ConvTest.D(x), ConvTest.D(gy), n, c, inner)),
            Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "softmax" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new Softmax(f.Int("axis", 1)), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [Test]
    public void HugeLogitsStayFinite()
    {
        var x = new float[] { 1e30f, 3e38f, -3e38f, 0, 88, 89 };
        var res = LayerHarness.Run(Context, new Softmax(), new[] { new Shape(2, 3) }, new[] { x });
        Assert.That(res.Output.All(float.IsFinite));
        Assert.That(res.Output[0] + res.Output[1] + res.Output[2], Is.EqualTo(1f).Within(1e-6));
        Assert.That(RelativeError.MaxRelative(res.Output.Skip(3).ToArray(), RefSoftmax.Forward(new double[] { 0, 88, 89 }, 1, 3, 1)),
            Is.LessThan(Tolerances.Forward));
    }

    [TestCase(new[] { 2, 3, 4 }, -1)]
    [TestCase(new[] { 2, 3, 4 }, 0)]
    [TestCase(new[] { 5, 3, 2, 7 }, 2)]
    [TestCase(new[] { 3, 2, 4, 6 }, -4)]
    [TestCase(new[] { 130 }, 0)]
    [TestCase(new[] { 2, 3, 2, 1, 5 }, 4)]
    public void AnyAxisMatchesReference(int[] dims, int axis)
    {
        var shape = new Shape(dims);
        var (n, c, inner) = RefSoftmax.Split(dims, axis);
        var x = FixtureLayer.Uniform(shape.Elements, 500 + dims.Sum()).Select(v => v * 4).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, 600 + axis);
        var res = LayerHarness.Run(Context, new Softmax(axis), new[] { shape }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(shape));
        Assert.That(RelativeError.MaxRelative(res.Output, RefSoftmax.Forward(ConvTest.D(x), n, c, inner)), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefSoftmax.Backward(ConvTest.D(x), ConvTest.D(gy), n, c, inner)),
            Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCase(3)]
    [TestCase(-4)]
    public void AxisOutOfRange_NamesTheLayer(int axis)
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Softmax(axis), new[] { new Shape(2, 3, 4) }, new[] { new float[24] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,3,4]").And.Contain($"axis {axis}"));
    }
}
