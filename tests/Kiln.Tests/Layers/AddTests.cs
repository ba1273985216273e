using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class AddTests : GpuTest
{
    [TestCase(2, 3, 4, 5)]
    [TestCase(1, 1, 1, 7)]
    [TestCase(3, 17, 1, 1)]
    public void ForwardAndBackwardMatchReference(int n, int c, int h, int w)
    {
        var shape = new Shape(n, c, h, w);
        int r = n * 100 + c;
        var a = FixtureLayer.Uniform(shape.Elements, r++);
        var b = FixtureLayer.Uniform(shape.Elements, r++);
        var gy = FixtureLayer.Uniform(shape.Elements, r++);
        var res = LayerHarness.Run(Context, new Add(), new[] { shape, shape }, new[] { a, b }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(shape));
        Assert.That(RelativeError.MaxRelative(res.Output, a.Zip(b, (p, q) => (double)p + q).ToArray()), Is.LessThan(Tolerances.Forward), "y");
        var g = gy.Select(v => (double)v).ToArray();
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], g), Is.EqualTo(0), "grad_a");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], g), Is.EqualTo(0), "grad_b");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "add" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new Add(), f, "x0", "x1");
        FixtureLayer.AssertAll(res, f, "x0", "x1");
    }

    /// <summary>y = relu(x) + x: the gradient of x sums the residual path and the relu path.</summary>
    [Test]
    public void Residual_SumsTheGradientOfBothPaths()
    {
        var shape = new Shape(2, 5);
        float[] x = { -2, -1, -0.5f, 0.25f, 1, 2, 3, -3, 0.5f, -0.1f };
        var gy = FixtureLayer.Uniform(10, 9);
        var net = new Network();
        var xi = net.Input("x");
        var sum = net.Add(new Add(), net.Add(new ReLU(), xi), xi);
        net.Output(sum, "y");
        net.SetLoss(new DotLoss(), sum, net.Input("g"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["g"] = shape },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("g", gy);
        compiled.Run();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), x.Select(v => Math.Max(v, 0.0) + v).ToArray()), Is.LessThan(Tolerances.Forward));
        var gx = x.Select((v, i) => (v > 0 ? 2.0 : 1.0) * gy[i]).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["x"].ToArray(), gx), Is.LessThan(1e-6));
    }

    [Test]
    public void ShapeMismatch_NamesTheLayer()
    {
        var shapes = new[] { new Shape(2, 3, 4, 4), new Shape(2, 3, 4, 5) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Add(), shapes, shapes.Select(s => new float[s.Elements]).ToArray()));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,3,4,4]").And.Contain("[2,3,4,5]"));
    }
}
