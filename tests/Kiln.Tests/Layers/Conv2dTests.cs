using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>Shared helpers of the convolution tests.</summary>
internal static class ConvTest
{
    public static double[] D(float[] v) => v.Select(f => (double)f).ToArray();

    /// <summary>The activation layer a test puts after a conv (fused into it), and the same activation in double.</summary>
    public static Layer ActivationLayer(Activation act) => act switch
    {
        Activation.ReLU => new ReLU(),
        Activation.LeakyReLU => new LeakyReLU(0.2f),
        Activation.Sigmoid => new Sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    public static double Activate(double v, Activation act) => act switch
    {
        Activation.ReLU => Math.Max(0, v),
        Activation.LeakyReLU => v >= 0 ? v : 0.2 * v,
        Activation.Sigmoid => 1 / (1 + Math.Exp(-v)),
        _ => v,
    };

    /// <summary>
    /// One Conv2d (and <paramref name="act"/> after it, fused) on [n, cin, h, w] with the forward entry <paramref name="entry"/>
    /// named: the plan is the one dispatch of <paramref name="kernel"/>, and the output matches the double CPU reference
    /// within Tolerances.Forward.
    /// </summary>
    public static void AssertForwardMatchesReference(GpuContext context, string entry, string kernel, int n, int cin, int cout, int h, int w,
        (int H, int W) k, (int H, int W) s, (int H, int W) p, int d, bool bias, Activation act, int seed)
    {
        var layer = new Conv2d(cin, cout, k, s, p, (d, d), 1, bias);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, seed);
        var wt = FixtureLayer.Uniform((long)cout * cin * k.H * k.W, seed + 1);
        var b = FixtureLayer.Uniform(cout, seed + 2);
        var net = new Network();
        var y = net.Add(layer, "conv", net.Input("x"));
        if (act != Activation.None) y = net.Add(ActivationLayer(act), "act", y);
        net.Output(y, "y");
        using var compiled = net.Compile(context, CompileOptions.For("x", xShape) with { PreferKernels = new[] { entry } });
        Assert.That(compiled.Plan.Dispatches.Select(q => q.Kernel), Is.EqualTo(new[] { kernel }), "one fused dispatch");
        compiled.SetInput("x", x);
        compiled.Parameters["conv.weight"].Upload(wt);
        if (bias) compiled.Parameters["conv.bias"].Upload(b);
        compiled.Run();

        var spec = new Conv2dSpec(n, cin, h, w, cout, k.H, k.W, s.H, s.W, p.H, p.W, d, d, 1);
        var expected = RefConv2d.Forward(spec, D(x), D(wt), bias ? D(b) : null).Select(v => Activate(v, act)).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
    }

    /// <summary>A layer's output and its input, weight and (when given) bias gradients against the references, within the forward and gradient tolerances.</summary>
    public static void AssertMatches(LayerResult res, double[] y, double[] gx, double[] gw, double[]? gb)
    {
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        if (gb != null) Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }
}

public sealed class Conv2dTests : GpuTest
{
    // n, cin, cout, h, w, k, stride, padding, dilation, groups, bias
    [TestCase(2, 3, 5, 7, 6, 3, 1, 0, 1, 1, true, TestName = "BackwardMatchesReference_Plain")]
    [TestCase(2, 4, 6, 9, 8, 3, 2, 1, 1, 1, true, TestName = "BackwardMatchesReference_Strided")]
    [TestCase(1, 3, 4, 8, 9, 3, 1, 2, 2, 1, false, TestName = "BackwardMatchesReference_DilatedPadded")]
    [TestCase(2, 6, 8, 8, 7, 3, 1, 1, 1, 2, true, TestName = "BackwardMatchesReference_Grouped")]
    [TestCase(2, 4, 6, 11, 10, 3, 2, 2, 2, 2, true, TestName = "BackwardMatchesReference_GroupedDilatedStrided")]
    [TestCase(1, 5, 5, 7, 7, 3, 3, 1, 1, 5, true, TestName = "BackwardMatchesReference_Depthwise")]
    [TestCase(3, 2, 3, 5, 5, 1, 1, 0, 1, 1, true, TestName = "BackwardMatchesReference_Pointwise")]
    [TestCase(1, 3, 2, 10, 9, 4, 3, 1, 1, 1, true, TestName = "BackwardMatchesReference_StrideLeavesRowsUnused")]
    public void BackwardMatchesReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int d, int g, bool bias)
    {
        int r = 4321 + cin * 7 + cout * 13 + s + 17 * d + 31 * g;
        var layer = new Conv2d(cin, cout, k, s, p, d, g, bias);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * (cin / g) * k * k, r++);
        var b = bias ? FixtureLayer.Uniform(cout, r++) : null;
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var ps = new Dictionary<string, float[]> { ["weight"] = wt };
        if (b != null) ps["bias"] = b;

        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, ps, gy);

        var spec = new Conv2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, d, d, g);
        var y = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), b == null ? null : ConvTest.D(b));
        var (gx, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(res.OutputShape, Is.EqualTo(yShape));
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        if (bias) Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
        else Assert.That(res.ParameterGradients.ContainsKey("bias"), Is.False);
    }

    /// <summary>The worked example of Dumoulin and Visin's convolution-arithmetic guide (5x5 input, 3x3 kernel, no padding).</summary>
    [Test]
    public void GoldenCourseConvolution()
    {
        var x = new float[] { 3, 3, 2, 1, 0, 0, 0, 1, 3, 1, 3, 1, 2, 2, 3, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1 };
        var k = new float[] { 0, 1, 2, 2, 2, 0, 0, 1, 2 };
        var res = LayerHarness.Run(Context, new Conv2d(1, 1, 3, bias: false), new[] { new Shape(1, 1, 5, 5) }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = k });
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(1, 1, 3, 3)));
        Assert.That(res.Output, Is.EqualTo(new float[] { 12, 12, 17, 10, 17, 19, 9, 6, 14 }));
    }

    /// <summary>Each PyTorch conv2d fixture; the golden case (small integers, every sum exact in f32) must match exactly.</summary>
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv2d" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var spec = FixtureSpecs.Conv2d(f);
        var layer = new Conv2d(spec.C, spec.Cout, (spec.KH, spec.KW), (spec.SH, spec.SW), (spec.PH, spec.PW), (spec.DH, spec.DW),
            spec.Groups, f.Has("bias"));
        var res = FixtureLayer.Run(Context, layer, f, "x");
        FixtureLayer.AssertAll(res, f, "x");
        if (f.Name == "conv2d_golden")
        {
            Assert.That(res.Output, Is.EqualTo(f["y"].Floats), "golden y is exact");
            Assert.That(res.InputGradients[0], Is.EqualTo(f["grad_x"].Floats), "golden grad_x is exact");
            Assert.That(res.ParameterGradients["weight"], Is.EqualTo(f["grad_weight"].Floats), "golden grad_weight is exact");
        }
    }

    /// <summary>
    /// A strided, padded, grouped conv: the GPU's gradients against central differences of the double reference loss
    /// sum(r * conv(x)), r the output gradient.
    /// </summary>
    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var spec = new Conv2dSpec(1, 4, 5, 5, 4, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, Groups: 2);
        var layer = new Conv2d(4, 4, 3, stride: 2, padding: 1, groups: 2);
        var x = FixtureLayer.Uniform(1 * 4 * 5 * 5, 71);
        var w = FixtureLayer.Uniform(4 * 2 * 3 * 3, 72);
        var b = FixtureLayer.Uniform(4, 73);
        var gy = FixtureLayer.Uniform(spec.N * spec.Cout * spec.OH * spec.OW, 74);
        var res = LayerHarness.Run(Context, layer, new[] { new Shape(1, 4, 5, 5) }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = w, ["bias"] = b }, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(1, 4, 3, 3)));
        double[] dx = ConvTest.D(x), dw = ConvTest.D(w), db = ConvTest.D(b), r = ConvTest.D(gy);
        double Loss(double[] xv, double[] wv, double[] bv) => FixtureLayer.Dot(r, RefConv2d.Forward(spec, xv, wv, bv));
        var gx = FiniteDifferences.Gradient(v => Loss(v, dw, db), dx);
        var gw = FiniteDifferences.Gradient(v => Loss(dx, v, db), dw);
        var gb = FiniteDifferences.Gradient(v => Loss(dx, dw, v), db);
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    /// <summary>Training through a fused conv + LeakyReLU: the weight gradient is that of the pre-activation.</summary>
    [Test]
    public void BackwardThroughFusedActivationMatchesReference()
    {
        int r = 99;
        int n = 2, cin = 3, cout = 4, h = 6, w = 5, k = 3;
        var x = FixtureLayer.Uniform(n * cin * h * w, r++);
        var wt = FixtureLayer.Uniform(cout * cin * k * k, r++);
        var bias = FixtureLayer.Uniform(cout, r++);
        int oh = h - 2, ow = w - 2;
        var gy = FixtureLayer.Uniform(n * cout * oh * ow, r++);
        var net = new Network();
        var y = net.Add(new LeakyReLU(0.1f), "act", net.Add(new Conv2d(cin, cout, k), "conv", net.Input("x")));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, cin, h, w), ["grad_y"] = new Shape(n, cout, oh, ow) },
            Training = true,
            LearningRate = 0f,
        });
        Assert.That(compiled.Plan.Dispatches.Count(dd => dd.Kernel == "elementwise/unary"), Is.EqualTo(0), "the activation is fused");
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["conv.weight"].Upload(wt);
        compiled.Parameters["conv.bias"].Upload(bias);
        compiled.Run();

        var spec = new Conv2dSpec(n, cin, h, w, cout, k, k);
        var pre = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(bias));
        var gPre = pre.Select((v, i) => gy[i] * (v >= 0 ? 1 : 0.1)).ToArray();
        var (_, gw, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), gPre);
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), pre.Select(v => v >= 0 ? v : 0.1 * v).ToArray()), Is.LessThan(Tolerances.Forward));
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["conv.weight"].ToArray(), gw), Is.LessThan(Tolerances.Gradient));
    }

    [Test]
    public void WrongInputChannels_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Conv2d(3, 4, 3), new[] { new Shape(1, 2, 5, 5) }, new[] { new float[50] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("3 input channels").And.Contain("[1,2,5,5]"));
    }
}
