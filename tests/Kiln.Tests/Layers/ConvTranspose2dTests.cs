using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class ConvTranspose2dTests : GpuTest
{
    // n, cin, cout, h, w, k, stride, padding, output padding, groups, dilation, bias
    [TestCase(2, 3, 4, 4, 5, 3, 1, 0, 0, 1, 1, true, TestName = "ForwardAndBackwardMatchReference_Plain")]
    [TestCase(2, 4, 3, 5, 4, 3, 2, 1, 1, 1, 1, true, TestName = "ForwardAndBackwardMatchReference_StridedOutputPadding")]
    [TestCase(1, 3, 5, 3, 3, 4, 2, 1, 0, 1, 1, false, TestName = "ForwardAndBackwardMatchReference_Upsample2x")]
    [TestCase(2, 2, 3, 4, 3, 2, 3, 0, 2, 1, 1, true, TestName = "ForwardAndBackwardMatchReference_StrideAboveKernel")]
    [TestCase(2, 4, 6, 4, 4, 3, 2, 1, 1, 2, 1, true, TestName = "ForwardAndBackwardMatchReference_Grouped")]
    [TestCase(1, 3, 2, 4, 5, 3, 1, 2, 0, 1, 2, true, TestName = "ForwardAndBackwardMatchReference_Dilated")]
    public void ForwardAndBackwardMatchReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int op, int g, int d, bool bias)
    {
        int r = 777 + cin * 7 + cout * 13 + s + 17 * op + 31 * g + 5 * d;
        var layer = new ConvTranspose2d(cin, cout, k, s, p, op, g, bias, d);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        int oh = (h - 1) * s - 2 * p + d * (k - 1) + op + 1, ow = (w - 1) * s - 2 * p + d * (k - 1) + op + 1;
        Assert.That(yShape, Is.EqualTo(new Shape(n, cout, oh, ow)));
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cin * (cout / g) * k * k, r++);
        var b = bias ? FixtureLayer.Uniform(cout, r++) : null;
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var ps = new Dictionary<string, float[]> { ["weight"] = wt };
        if (b != null) ps["bias"] = b;

        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, ps, gy);

        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, op, op, d, d, g);
        var y = RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), b == null ? null : ConvTest.D(b));
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(res.OutputShape, Is.EqualTo(yShape));
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        if (bias) Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
        else Assert.That(res.ParameterGradients.ContainsKey("bias"), Is.False);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv_transpose2d" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var spec = FixtureSpecs.ConvTranspose2d(f);
        var layer = new ConvTranspose2d(spec.Cin, spec.Cout, (spec.KH, spec.KW), (spec.SH, spec.SW), (spec.PH, spec.PW), (spec.OPH, spec.OPW),
            spec.Groups, f.Has("bias"), (spec.DH, spec.DW));
        var res = FixtureLayer.Run(Context, layer, f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    /// <summary>A 1x1 input through a 2x2 stride-2 kernel stamps the weight, scaled by the input, into the output.</summary>
    [Test]
    public void SinglePixelStampsTheKernel()
    {
        var res = LayerHarness.Run(Context, new ConvTranspose2d(1, 1, 2, stride: 2, bias: false), new[] { new Shape(1, 1, 1, 2) },
            new[] { new float[] { 1, -2 } }, new Dictionary<string, float[]> { ["weight"] = new float[] { 1, 2, 3, 4 } });
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(1, 1, 2, 4)));
        Assert.That(res.Output, Is.EqualTo(new float[] { 1, 2, -2, -4, 3, 4, -6, -8 }));
    }

    [Test]
    public void ForwardFusesAFollowingActivation()
    {
        int r = 8;
        int n = 2, cin = 3, cout = 4, h = 3, w = 4, k = 3, s = 2, p = 1, op = 1;
        var x = FixtureLayer.Uniform(n * cin * h * w, r++);
        var wt = FixtureLayer.Uniform(cin * cout * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        int oh = 2 * h, ow = 2 * w;
        var net = new Sequential(new ConvTranspose2d(cin, cout, k, s, p, op), new ReLU());
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(n, cin, h, w)));
        // One dispatch (the storage-buffer gather, or on a CPU device its texel-read variant).
        Assert.That(compiled.Plan.Dispatches.Select(dd => dd.Kernel), Has.Exactly(1).Items.And.All.StartsWith("conv_transpose2d/conv_transpose2d.fwd"));
        compiled.SetInput("x", x);
        var prefix = compiled.Parameters.Keys.Single(key => key.EndsWith(".weight"))[..^".weight".Length];
        compiled.Parameters[$"{prefix}.weight"].Upload(wt);
        compiled.Parameters[$"{prefix}.bias"].Upload(b);
        compiled.Run();
        var y = RefConvTranspose2d.Forward(new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, op, op), ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b))
            .Select(v => Math.Max(0, v)).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), y), Is.LessThan(Tolerances.Forward));
    }

    /// <summary>
    /// A stride-1 layer, where the registry takes the matching convolution's input gradient as the forward over the
    /// flipped weight (GPUs; named here), runs its forward that way, through the forward kernels with its bias and a
    /// following ReLU fused: the direct kernel over a flipped copy, or the Winograd kernel whose weight transform turns it.
    /// </summary>
    // n, cin, cout, h, w, k, padding, groups, dilation, Winograd
    [TestCase(2, 5, 16, 7, 9, 3, 1, 1, 1, false, TestName = "StrideOne_Flipped_Padded")]
    [TestCase(1, 4, 6, 5, 6, 3, 0, 2, 1, false, TestName = "StrideOne_Flipped_GroupedGrowing")]
    [TestCase(1, 3, 4, 6, 5, 3, 2, 1, 2, false, TestName = "StrideOne_Flipped_Dilated")]
    [TestCase(2, 8, 24, 6, 7, 3, 1, 1, 1, true, TestName = "StrideOne_Flipped_Winograd")]
    public void StrideOne_ForwardRunsAsTheFlippedConvolution(int n, int cin, int cout, int h, int w, int k, int p, int g, int d, bool winograd)
    {
        int r = 1200 + cin + cout + p + g + d;
        var x = FixtureLayer.Uniform(n * cin * h * w, r++);
        var wt = FixtureLayer.Uniform(cin * (cout / g) * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var net = new Network();
        net.Output(net.Add(new ReLU(), "relu", net.Add(new ConvTranspose2d(cin, cout, k, 1, p, 0, g, true, d), "up", net.Input("x"))), "y");
        var prefer = winograd ? new[] { "Conv2dInputGradFlipped", "Conv2dWinograd" } : new[] { "Conv2dInputGradFlipped" };
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(n, cin, h, w)) with { TexelReads = false, PreferKernels = prefer });
        var kernels = compiled.Plan.Dispatches.Select(dd => dd.Kernel).ToList();
        Assert.That(kernels, Is.EqualTo(winograd
            ? new[] { "conv2d/conv2d.winograd_weight", "conv2d/conv2d.fwd_winograd" }
            : new[] { "conv2d/conv2d.flip_weight", "conv2d/conv2d.fwd" }), "the weight turned, then one fused dispatch");
        compiled.SetInput("x", x);
        compiled.Parameters["up.weight"].Upload(wt);
        compiled.Parameters["up.bias"].Upload(b);
        compiled.Run();
        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, 1, 1, p, p, 0, 0, d, d, g);
        var y = RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b)).Select(v => Math.Max(0, v)).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), y), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void ParametersFollowPyTorch()
    {
        var ps = new ConvTranspose2d(6, 4, (3, 2), (2, 2), (1, 1), (1, 0), groups: 2).Parameters;
        Assert.That(ps.Select(q => q.Name), Is.EqualTo(new[] { "weight", "bias" }));
        Assert.That(ps[0].Shape, Is.EqualTo(new Shape(6, 2, 3, 2)));
        Assert.That(ps[1].Shape, Is.EqualTo(new Shape(4)));
        Assert.That(ps.Select(q => q.FanIn), Is.EqualTo(new[] { 2 * 3 * 2, 2 * 3 * 2 }), "fan_in = weight.size(1) * KH * KW");
    }

    [Test]
    public void OutputPaddingNotBelowStride_IsRejected() =>
        Assert.Throws<ArgumentException>(() => new ConvTranspose2d(2, 2, 3, stride: 2, outputPadding: 2));

    [Test]
    public void WrongInputChannels_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new ConvTranspose2d(3, 4, 3), new[] { new Shape(1, 2, 5, 5) }, new[] { new float[50] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("3 input channels").And.Contain("[1,2,5,5]"));
    }
}
