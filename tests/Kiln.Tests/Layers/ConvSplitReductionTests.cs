using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The weight gradient's split reduction (conv2d.bwd_weight or conv2d.bwd_weight_taps writing partial sums per chunk
/// of batch rows, then reduce/partials adding them in order): at the fashion-ae shapes that take it, at an uneven split
/// whose chunks cross image boundaries, and at a layer wide enough to skip it; all against the double CPU references.
/// </summary>
public sealed class ConvSplitReductionTests : GpuTest
{
    // n, cin, cout, h, w, stride, padding, split expected
    [TestCase(128, 1, 16, 28, 28, 2, 1, true, TestName = "Conv2dWeightGradient_FashionAeFirstLayer_Split")]
    [TestCase(128, 16, 32, 14, 14, 2, 1, true, TestName = "Conv2dWeightGradient_FashionAeSecondLayer_Split")]
    [TestCase(3, 2, 3, 9, 9, 1, 0, true, TestName = "Conv2dWeightGradient_UnevenChunksAcrossImages_Split")]
    [TestCase(1, 176, 176, 4, 4, 1, 1, false, TestName = "Conv2dWeightGradient_ManyChannels_NotSplit")]
    public void Conv2dMatchesReference(int n, int cin, int cout, int h, int w, int s, int p, bool split)
    {
        int r = 9100 + cin + 3 * cout + h;
        var layer = new Conv2d(cin, cout, 3, s, p);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        Assert.That(SplitsWeightGradient(layer, xShape, yShape), Is.EqualTo(split), "the weight gradient takes the expected path");
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * cin * 9, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy);

        var spec = new Conv2dSpec(n, cin, h, w, cout, 3, 3, s, s, p, p);
        var y = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    // n, cin, cout, h, w (the decoder of fashion-ae: kernel 3, stride 2, padding 1, output padding 1)
    [TestCase(128, 32, 16, 7, 7, TestName = "ConvTranspose2dWeightGradient_FashionAeFirstLayer_Split")]
    [TestCase(128, 16, 1, 14, 14, TestName = "ConvTranspose2dWeightGradient_FashionAeLastLayer_Split")]
    public void ConvTranspose2dMatchesReference(int n, int cin, int cout, int h, int w)
    {
        int r = 9300 + cin + 3 * cout;
        var layer = new ConvTranspose2d(cin, cout, 3, stride: 2, padding: 1, outputPadding: 1);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        Assert.That(SplitsWeightGradient(layer, xShape, yShape), Is.True, "the weight gradient is split");
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cin * cout * 9, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy);

        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
        var y = RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    /// <summary>
    /// The all-taps weight gradient (conv2d.bwd_weight_taps, for one q channel per group) at shapes off the fashion-ae
    /// path: grouped depthwise with stride and dilation, a non-square kernel with wide padding, and a 5x5 kernel (25 taps,
    /// too many: the general kernel takes it).
    /// </summary>
    // n, cin, cout, h, w, kh, kw, stride, padding, dilation, groups, all-taps kernel expected
    [TestCase(3, 4, 8, 11, 10, 3, 3, 2, 1, 2, 4, true, TestName = "AllTapsWeightGradient_DepthwiseStridedDilated")]
    [TestCase(2, 1, 5, 9, 12, 2, 3, 1, 2, 1, 1, true, TestName = "AllTapsWeightGradient_NonSquareKernelWidePadding")]
    [TestCase(2, 1, 3, 9, 9, 5, 5, 1, 2, 1, 1, false, TestName = "AllTapsWeightGradient_FiveByFiveFallsBackToGeneral")]
    public void AllTapsMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int s, int p, int d, int g, bool allTaps)
    {
        int r = 9500 + cin + 3 * cout + kh;
        var layer = new Conv2d(cin, cout, (kh, kw), (s, s), (p, p), (d, d), g);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        Assert.That(Kernels(layer, xShape, yShape).Any(m => m.StartsWith("conv2d/conv2d.bwd_weight_taps")), Is.EqualTo(allTaps), "the all-taps kernel is chosen");
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * (cin / g) * kh * kw, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy);

        var spec = new Conv2dSpec(n, cin, h, w, cout, kh, kw, s, s, p, p, d, d, g);
        var (_, gw, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
    }

    /// <summary>The same step twice gives bit-identical weight gradients (no atomics, a fixed order of partial sums).</summary>
    [Test]
    public void SplitWeightGradientIsDeterministic()
    {
        var layer = new Conv2d(16, 32, 3, stride: 2, padding: 1);
        var xShape = new Shape(128, 16, 14, 14);
        var x = FixtureLayer.Uniform(xShape.Elements, 5);
        var gy = FixtureLayer.Uniform(128 * 32 * 7 * 7, 6);
        var ps = new Dictionary<string, float[]> { ["weight"] = FixtureLayer.Uniform(32 * 16 * 9, 7), ["bias"] = FixtureLayer.Uniform(32, 8) };
        var first = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, ps, gy).ParameterGradients["weight"];
        var second = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, ps, gy).ParameterGradients["weight"];
        Assert.That(second, Is.EqualTo(first));
    }

    /// <summary>Whether the compiled backward pass adds partial weight gradients ("layer.bwd_weight.sum").</summary>
    static bool SplitsWeightGradient(Layer layer, Shape xShape, Shape yShape) =>
        Plan(layer, xShape, yShape).Any(d => d.Label == "layer.bwd_weight.sum" && d.Kernel == "reduce/partials");

    static string[] Kernels(Layer layer, Shape xShape, Shape yShape) => Plan(layer, xShape, yShape).Select(d => d.Kernel).ToArray();

    static IReadOnlyList<PlannedDispatch> Plan(Layer layer, Shape xShape, Shape yShape)
    {
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = yShape },
            Training = true,
            LearningRate = 0f,
            Fuse = false,
        });
        return compiled.Plan.Dispatches;
    }
}
