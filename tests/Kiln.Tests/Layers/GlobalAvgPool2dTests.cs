using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class GlobalAvgPool2dTests : GpuTest
{
    [TestCase(2, 3, 4, 5)]
    [TestCase(1, 4, 1, 1)]
    [TestCase(3, 2, 17, 9)]
    [TestCase(2, 70, 3, 3)]
    public void ForwardAndBackwardMatchReference(int n, int c, int h, int w)
    {
        var x = FixtureLayer.Uniform(n * c * h * w, 100 + n * 7 + h);
        var gy = FixtureLayer.Uniform(n * c, 200 + c);
        var res = LayerHarness.Run(Context, new GlobalAvgPool2d(), new[] { new Shape(n, c, h, w) }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, c, 1, 1)));
        Assert.That(RelativeError.MaxRelative(res.Output, RefGlobalAvgPool2d.Forward(ConvTest.D(x), n, c, h, w)), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefGlobalAvgPool2d.Backward(ConvTest.D(gy), n, c, h, w)),
            Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "global_avg_pool2d" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new GlobalAvgPool2d(), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [Test]
    public void MatrixInput_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new GlobalAvgPool2d(), new[] { new Shape(2, 6) }, new[] { new float[12] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,6]"));
    }
}
