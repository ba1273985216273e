using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>Flatten and Reshape: views of their input (no kernel), whose gradient is a view of the output's gradient.</summary>
public sealed class ReshapeTests : GpuTest
{
    [Test]
    public void Reshape_KeepsTheBatch() =>
        Assert.That(new Reshape(32, 7, 7).OutputShape(new[] { new Shape(5, 1568) }), Is.EqualTo(new Shape(5, 32, 7, 7)));

    [Test]
    public void Reshape_InfersMinusOne() =>
        Assert.That(new Reshape(4, -1).OutputShape(new[] { new Shape(2, 3, 4, 2) }), Is.EqualTo(new Shape(2, 4, 6)));

    [Test]
    public void Flatten_KeepsTheBatch() =>
        Assert.That(new Flatten().OutputShape(new[] { new Shape(3, 2, 4, 5) }), Is.EqualTo(new Shape(3, 40)));

    [Test]
    public void Reshape_BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new Reshape(-1, 2, -1));
        Assert.Throws<ArgumentException>(() => new Reshape(0, 4));
        Assert.Throws<ArgumentException>(() => new Reshape(-2));
        Assert.Throws<ArgumentException>(() => new Reshape());
    }

    [TestCase(new[] { 5, 7 })]
    [TestCase(new[] { -1, 7 })]
    [TestCase(new[] { 10, 10, 10, 10 })]
    public void Reshape_ElementCountMismatch_NamesTheLayer(int[] target)
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Reshape(target), new[] { new Shape(2, 36) }, new[] { new float[72] }));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,36]"));
    }

    [Test]
    public void Flatten_OfAVector_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Flatten(), new[] { new Shape(6) }, new[] { new float[6] }));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[6]"));
    }

    /// <summary>
    /// x -> view -> leaky_relu(slope 1, the identity) with loss dot(that, g): a view can't be a network output, so
    /// the identity shows its values; the gradient flows back through the view to x.
    /// </summary>
    static (float[] Y, Shape YShape, float[] Gx) RunView(Layer view, Shape xShape, float[] x, float[] g)
    {
        var net = new Network();
        var xi = net.Input("x");
        var v = net.Add(view, "view", xi);
        var y = net.Add(new LeakyReLU(1f), "identity", v);
        net.Output(y, "y");
        var yShape = view.OutputShape(new[] { xShape });
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["g"] = yShape },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Label), Has.None.StartsWith("view."), "a view runs no kernel");
        compiled.SetInput("x", x);
        compiled.SetInput("g", g);
        compiled.Run();
        return (compiled.GetOutput("y"), compiled.Outputs["y"].Shape, compiled.InputGradients["x"].ToArray());
    }

    static IEnumerable<TestCaseData> Views()
    {
        yield return new TestCaseData(new Flatten(), new Shape(2, 3, 4, 5), new Shape(2, 60)).SetArgDisplayNames("flatten");
        yield return new TestCaseData(new Reshape(32, 7, 7), new Shape(2, 1568), new Shape(2, 32, 7, 7)).SetArgDisplayNames("reshape_to_image");
        yield return new TestCaseData(new Reshape(-1, 3), new Shape(3, 2, 3, 2), new Shape(3, 4, 3)).SetArgDisplayNames("reshape_minus_one");
    }

    [TestCaseSource(nameof(Views))]
    public void ForwardIsTheInputAndBackwardIsTheOutputGradient(Layer view, Shape xShape, Shape yShape)
    {
        int r = 17;
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var g = FixtureLayer.Uniform(xShape.Elements, r++);
        var (y, shape, gx) = RunView(view, xShape, x, g);
        Assert.That(shape, Is.EqualTo(yShape));
        Assert.That(y, Is.EqualTo(x), "y is x, reshaped");
        Assert.That(gx, Is.EqualTo(g), "grad_x is grad_y, reshaped");
    }

    /// <summary>Flatten then Reshape (an encoder's bottleneck round trip) between two layers that run kernels.</summary>
    [Test]
    public void FlattenThenReshape_RoundTrips()
    {
        var xShape = new Shape(2, 4, 3, 3);
        int r = 23;
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var g = FixtureLayer.Uniform(xShape.Elements, r++);
        var net = new Network();
        var relu = net.Add(new ReLU(), net.Input("x"));
        var back = net.Add(new Reshape(4, 3, 3), net.Add(new Flatten(), relu));
        var y = net.Add(new Add(), "sum", back, relu);
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["g"] = xShape },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("g", g);
        compiled.Run();
        Assert.That(compiled.GetOutput("y"), Is.EqualTo(x.Select(v => 2 * Math.Max(v, 0f))).Within(1e-6));
        Assert.That(compiled.InputGradients["x"].ToArray(), Is.EqualTo(x.Select((v, i) => v > 0 ? 2 * g[i] : 0f)).Within(1e-6));
    }
}
