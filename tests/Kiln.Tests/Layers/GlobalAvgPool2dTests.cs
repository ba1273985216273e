using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class GlobalAvgPool2dTests : GpuTest
{
    [TestCase(2, 3, 4, 5)]
    [TestCase(1, 4, 1, 1)]
    [TestCase(3, 2, 17, 9)]
    [TestCase(2, 70, 3, 3)]
    // Planes of more than 4096 pixels, split over workgroups and summed in order: 3 chunks (the last of 1024), and 2.
    [TestCase(1, 3, 64, 144)]
    [TestCase(2, 2, 65, 65)]
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

    /// <summary>A few large planes: the forward splits each over workgroups (global_pool.fwd.split) and adds the chunks in order.</summary>
    [Test]
    public void LargePlanes_AreSplitOverWorkgroups()
    {
        var res = LayerHarness.Run(Context, new GlobalAvgPool2d(), new[] { new Shape(1, 3, 64, 144) }, new[] { new float[3 * 64 * 144] });
        Assert.That(res.Kernels, Is.EqualTo(new[] { "global_pool/global_pool.fwd.split", "reduce/partials" }));
        Assert.That(res.GroupsOf("layer.fwd"), Is.EqualTo("3x3x1"), "3 chunks of each of 3 planes");
    }
}
