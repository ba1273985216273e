using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class ConcatTests : GpuTest
{
    /// <summary>Concatenation along dim 1 and its gradient split, in doubles.</summary>
    static (double[] Y, double[][] Gx) Reference(Shape[] shapes, float[][] xs, float[] gy)
    {
        int n = shapes[0][0];
        int inner = (int)(shapes[0].Elements / n / shapes[0][1]);
        int total = shapes.Sum(s => s[1]);
        var y = new double[n * total * inner];
        var gx = shapes.Select(s => new double[s.Elements]).ToArray();
        for (int b = 0; b < n; b++)
        {
            int c0 = 0;
            for (int k = 0; k < shapes.Length; k++)
            {
                int c = shapes[k][1];
                for (int j = 0; j < c * inner; j++)
                {
                    int o = b * total * inner + c0 * inner + j, s = b * c * inner + j;
                    y[o] = xs[k][s];
                    gx[k][s] = gy[o];
                }
                c0 += c;
            }
        }
        return (y, gx);
    }

    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData((object)new[] { new Shape(2, 3, 4, 5), new Shape(2, 2, 4, 5) }).SetArgDisplayNames("two_images");
        yield return new TestCaseData((object)new[] { new Shape(1, 1, 3, 3), new Shape(1, 4, 3, 3), new Shape(1, 2, 3, 3) }).SetArgDisplayNames("three_images");
        yield return new TestCaseData((object)new[] { new Shape(3, 4), new Shape(3, 5) }).SetArgDisplayNames("vectors");
        yield return new TestCaseData((object)new[] { new Shape(2, 16, 9, 7), new Shape(2, 8, 9, 7) }).SetArgDisplayNames("unet_skip");
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchReference(Shape[] shapes)
    {
        int r = 11 + shapes.Length * 7 + shapes[0][1];
        var xs = shapes.Select((s, i) => FixtureLayer.Uniform(s.Elements, r + i)).ToArray();
        var outShape = new Concat().OutputShape(shapes);
        var gy = FixtureLayer.Uniform(outShape.Elements, r++);
        var res = LayerHarness.Run(Context, new Concat(), shapes, xs, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(shapes[0].With(1, shapes.Sum(s => s[1]))));
        var (y, gx) = Reference(shapes, xs, gy);
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.EqualTo(0), "y is an exact copy");
        for (int k = 0; k < shapes.Length; k++)
            Assert.That(RelativeError.MaxRelative(res.InputGradients[k], gx[k]), Is.EqualTo(0), $"grad_x{k} is an exact copy");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "concat" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        Assert.That(f.Int("dim"), Is.EqualTo(1), "Kiln concatenates channels");
        var inputs = FixtureLayer.NumberedInputs(f);
        var res = FixtureLayer.Run(Context, new Concat(), f, inputs);
        FixtureLayer.AssertAll(res, f, inputs);
    }

    [Test]
    public void ChannelMismatch_NamesTheLayerAndShapes()
    {
        var shapes = new[] { new Shape(1, 64, 32, 32), new Shape(1, 32, 31, 31) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Concat(), shapes, shapes.Select(s => new float[s.Elements]).ToArray()));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[1,64,32,32]").And.Contain("[1,32,31,31]").And.Contain("H,W"));
    }

    [Test]
    public void BatchMismatch_Throws()
    {
        var e = Assert.Throws<GraphException>(() => new Concat().OutputShape(new[] { new Shape(2, 3, 4, 4), new Shape(1, 3, 4, 4) }));
        Assert.That(e!.Message, Does.Contain("[2,3,4,4]").And.Contain("[1,3,4,4]"));
    }

    [Test]
    public void OneInput_Throws() =>
        Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Concat(), new[] { new Shape(1, 2, 2, 2) }, new[] { new float[8] }));

    /// <summary>x -> relu -> concat(relu(x), x): the gradient of x is the sum over both paths (the compiler's accumulation).</summary>
    [Test]
    public void SkipConnection_SumsTheGradientOfBothPaths()
    {
        var shape = new Shape(2, 3, 4, 4);
        int r = 3;
        var x = FixtureLayer.Uniform(shape.Elements, r++);
        var gy = FixtureLayer.Uniform(shape.Elements * 2, r++);
        var net = new Network();
        var xi = net.Input("x");
        var relu = net.Add(new ReLU(), xi);
        var cat = net.Add(new Concat(), "cat", relu, xi);
        net.Output(cat, "y");
        net.SetLoss(new DotLoss(), cat, net.Input("g"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["g"] = shape.With(1, 6) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("g", gy);
        compiled.Run();
        int plane = 3 * 16;
        var y = new double[gy.Length];
        var gx = new double[x.Length];
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < plane; j++)
            {
                int i = b * plane + j, first = b * 2 * plane + j, second = first + plane;
                y[first] = Math.Max(x[i], 0);
                y[second] = x[i];
                gx[i] = (x[i] > 0 ? gy[first] : 0) + gy[second];
            }
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), y), Is.EqualTo(0), "y");
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["x"].ToArray(), gx), Is.LessThan(1e-6), "grad_x sums both paths");
    }
}
