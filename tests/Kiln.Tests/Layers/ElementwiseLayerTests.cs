using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>Mul, Sub, Div, Clip, Gelu and Pad on the GPU against their C# references and the PyTorch fixtures.</summary>
public sealed class ElementwiseLayerTests : GpuTest
{
    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    static Layer Binary(string op) => op switch
    {
        "mul" => new Mul(),
        "sub" => new Sub(),
        "div" => new Div(),
        _ => throw new ArgumentException(op),
    };

    static (double[] Y, double[] GradA, double[] GradB) RefBinary(string op, double[] a, double[] b, double[] gy) => op switch
    {
        "mul" => (RefMul.Forward(a, b), RefMul.Backward(a, b, gy).GradA, RefMul.Backward(a, b, gy).GradB),
        "sub" => (RefSub.Forward(a, b), RefSub.Backward(gy).GradA, RefSub.Backward(gy).GradB),
        "div" => (RefDiv.Forward(a, b), RefDiv.Backward(a, b, gy).GradA, RefDiv.Backward(a, b, gy).GradB),
        _ => throw new ArgumentException(op),
    };

    [TestCase("mul", 2, 3, 4, 5)]
    [TestCase("mul", 1, 1, 1, 300)]
    [TestCase("sub", 2, 3, 4, 5)]
    [TestCase("sub", 3, 17, 1, 1)]
    [TestCase("div", 2, 3, 4, 5)]
    [TestCase("div", 1, 1, 1, 300)]
    public void BinaryForwardAndBackwardMatchReference(string op, int n, int c, int h, int w)
    {
        var shape = new Shape(n, c, h, w);
        int r = n * 100 + c + op.Length;
        var a = FixtureLayer.Uniform(shape.Elements, r++);
        var b = RandomData.AwayFromZero((int)shape.Elements, r++, 0.25).Select(v => (float)v).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, r++);
        var res = LayerHarness.Run(Context, Binary(op), new[] { shape, shape }, new[] { a, b }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(shape));
        var (y, ga, gb) = RefBinary(op, D(a), D(b), D(gy));
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], ga), Is.LessThan(Tolerances.Gradient), "grad_a");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], gb), Is.LessThan(Tolerances.Gradient), "grad_b");
    }

    static IEnumerable<TestCaseData> BinaryFixtures() => new[] { "mul", "sub", "div" }.SelectMany(Fixture.All);

    [TestCaseSource(nameof(BinaryFixtures))]
    public void BinaryForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, Binary(f.Op), f, "x0", "x1");
        FixtureLayer.AssertAll(res, f, "x0", "x1");
    }

    /// <summary>y = x * x through one Mul: the compiler sums the two input gradients to 2 x dy.</summary>
    [Test]
    public void MulOfAValueWithItself_SumsBothGradients()
    {
        var shape = new Shape(2, 5);
        var x = FixtureLayer.Uniform(10, 3);
        var gy = FixtureLayer.Uniform(10, 4);
        var net = new Network();
        var xi = net.Input("x");
        var sq = net.Add(new Mul(), xi, xi);
        net.Output(sq, "y");
        net.SetLoss(new DotLoss(), sq, net.Input("g"));
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
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), x.Select(v => (double)v * v).ToArray()), Is.LessThan(Tolerances.Forward));
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["x"].ToArray(), x.Select((v, i) => 2.0 * v * gy[i]).ToArray()), Is.LessThan(Tolerances.Gradient));
    }

    [TestCase("mul")]
    [TestCase("sub")]
    [TestCase("div")]
    public void BinaryShapeMismatch_NamesTheLayer(string op)
    {
        var shapes = new[] { new Shape(2, 3, 4, 4), new Shape(2, 3, 4, 5) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, Binary(op), shapes, shapes.Select(s => new float[s.Elements]).ToArray()));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,3,4,4]").And.Contain("[2,3,4,5]"));
    }

    [TestCase(-0.5f, 0.5f)]
    [TestCase(0f, 6f)]
    [TestCase(-0.25f, 0.25f)]
    public void ClipForwardAndBackwardMatchReference(float min, float max)
    {
        var shape = new Shape(2, 3, 5, 4);
        // Multiples of 1/8 in [-8, 8): many exact ties with the bounds.
        var x = FixtureLayer.Uniform(shape.Elements, 11).Select(v => MathF.Round(v * 64) / 8).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, 12);
        var res = LayerHarness.Run(Context, new Clip(min, max), new[] { shape }, new[] { x }, null, gy);
        Assert.That(x.Count(v => v == min || v == max), Is.GreaterThan(0), "the input has ties with the bounds");
        Assert.That(RelativeError.MaxRelative(res.Output, RefClip.Forward(D(x), min, max)), Is.EqualTo(0), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefClip.Backward(D(x), D(gy), min, max)), Is.EqualTo(0), "grad_x");
    }

    [Test]
    public void ClipWithInfiniteBound_IsOneSided()
    {
        float[] x = { -3, -1, 0, 1, 3, 1e30f };
        var res = LayerHarness.Run(Context, new Clip(0, float.PositiveInfinity), new[] { new Shape(6) }, new[] { x }, null, new float[] { 1, 1, 1, 1, 1, 1 });
        Assert.That(res.Output, Is.EqualTo(new float[] { 0, 0, 0, 1, 3, 1e30f }));
        Assert.That(res.InputGradients[0], Is.EqualTo(new float[] { 0, 0, 1, 1, 1, 1 }));
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "clip" })]
    public void ClipForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new Clip((float)f.Double("min"), (float)f.Double("max")), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [Test]
    public void ClipBadBounds_Throw()
    {
        Assert.Throws<ArgumentException>(() => new Clip(1, 0));
        Assert.Throws<ArgumentException>(() => new Clip(float.NaN, 0));
    }

    [TestCase(2, 3, 4, 5, 3.0)]
    [TestCase(1, 1, 1, 1000, 9.0)]
    public void GeluForwardAndBackwardMatchReference(int n, int c, int h, int w, double range)
    {
        var shape = new Shape(n, c, h, w);
        var x = FixtureLayer.Uniform(shape.Elements, 21 + w).Select(v => (float)(v * range)).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, 22 + w);
        var res = LayerHarness.Run(Context, new Gelu(), new[] { shape }, new[] { x }, null, gy);
        Assert.That(RelativeError.MaxRelative(res.Output, RefGelu.Forward(D(x))), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefGelu.Backward(D(x), D(gy))), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    /// <summary>The negative tail keeps its relative accuracy (erfc, not 1 + erf): each element within 1e-5 of its own value.</summary>
    [Test]
    public void GeluNegativeTail_IsRelativelyAccurate()
    {
        float[] x = { -1, -2, -3, -4, -5, -6, -7, -8 };
        var gy = x.Select(_ => 1f).ToArray();
        var res = LayerHarness.Run(Context, new Gelu(), new[] { new Shape(8) }, new[] { x }, null, gy);
        var y = RefGelu.Forward(D(x));
        var g = RefGelu.Backward(D(x), D(gy));
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(res.Output[i], Is.EqualTo(y[i]).Within(1e-5 * Math.Abs(y[i])), $"y at {x[i]}");
            Assert.That(res.InputGradients[0][i], Is.EqualTo(g[i]).Within(1e-4 * Math.Abs(g[i])), $"grad at {x[i]}");
        }
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "gelu" })]
    public void GeluForwardAndBackwardMatchPyTorch(Fixture f)
    {
        Assert.That(f.Str("approximate", "none"), Is.EqualTo("none"), "Kiln's GELU is the exact form");
        var res = FixtureLayer.Run(Context, new Gelu(), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [TestCase(PadMode.Zero, 2, 3, 4, 5, 1, 2, 3, 0)]
    [TestCase(PadMode.Zero, 1, 2, 3, 3, 0, 0, 0, 0)]
    [TestCase(PadMode.Replicate, 2, 3, 4, 5, 1, 2, 3, 0)]
    [TestCase(PadMode.Replicate, 1, 2, 1, 1, 3, 2, 4, 1)]
    [TestCase(PadMode.Replicate, 1, 1, 2, 7, 5, 6, 2, 3)]
    [TestCase(PadMode.Replicate, 1, 2, 6, 1, 0, 3, 0, 0)]
    public void PadForwardAndBackwardMatchReference(PadMode mode, int n, int c, int h, int w, int left, int right, int top, int bottom)
    {
        var x = FixtureLayer.Uniform(n * c * h * w, 31 + h * 7 + w);
        int oh = top + h + bottom, ow = left + w + right;
        var gy = FixtureLayer.Uniform(n * c * oh * ow, 32 + h);
        var res = LayerHarness.Run(Context, new Pad(left, right, top, bottom, mode), new[] { new Shape(n, c, h, w) }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, c, oh, ow)));
        bool rep = mode == PadMode.Replicate;
        Assert.That(RelativeError.MaxRelative(res.Output, RefPad.Forward(D(x), n, c, h, w, left, right, top, bottom, rep)), Is.EqualTo(0), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefPad.Backward(D(gy), n, c, h, w, left, right, top, bottom, rep)),
            Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "pad" })]
    public void PadForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var mode = f.Str("mode") switch
        {
            "zero" => PadMode.Zero,
            "replicate" => PadMode.Replicate,
            var m => throw new InvalidDataException($"{f.Name}: mode {m}"),
        };
        var res = FixtureLayer.Run(Context, new Pad(f.Int("left"), f.Int("right"), f.Int("top"), f.Int("bottom"), mode), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    [TestCase("clip")]
    [TestCase("gelu")]
    [TestCase("pad")]
    public void UnaryBadShape_NamesTheLayer(string op)
    {
        // Unary elementwise layers accept any shape; their bad shape is a wrong input count or (pad) a non-image.
        if (op != "pad")
        {
            Layer layer = op == "clip" ? new Clip(0, 1) : new Gelu();
            var shapes = new[] { new Shape(2, 3), new Shape(2, 3) };
            var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, layer, shapes, shapes.Select(s => new float[s.Elements]).ToArray()));
            Assert.That(e!.Message, Does.Contain("layer"));
            return;
        }
        var pe = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Pad(1, 1, 1, 1), new[] { new Shape(2, 6) }, new[] { new float[12] }));
        Assert.That(pe!.Message, Does.Contain("layer").And.Contain("[2,6]"));
    }

    [Test]
    public void PadBadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new Pad(-1, 0, 0, 0));
        Assert.Throws<ArgumentException>(() => new Pad(0, 0, 0, 0, (PadMode)7));
    }
}
