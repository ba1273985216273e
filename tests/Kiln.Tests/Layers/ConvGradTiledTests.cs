using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The GPU entries of the convolution gradients — Conv2dWeightGradTiled (shaders/conv2d/conv2d.bwd_weight_tiled.comp,
/// tiled implicit GEMM with split K; a Conv2d's bias gradient in its .bias variant, the row sums of the dY tiles it
/// stages), Conv2dBiasGradTree (conv2d.bwd_bias_tree.comp, workgroup tree reduction: ConvTranspose2d's bias) and
/// Conv2dInputGradTiled (conv2d.bwd_input_tiled.comp, tiled implicit GEMM for stride 1) — forced on lavapipe through CompileOptions.PreferKernels and compared with the double CPU references: Conv2d and
/// ConvTranspose2d with stride, dilation, groups, padding 0 and 1, odd sizes, batches, channel counts that leave
/// partial tiles, and K splits whose chunks cross image boundaries. Conv2dInputGradFlipped (stride-1 dX as the forward
/// kernel over dY with the flipped weight, conv2d.flip_weight.comp) likewise.
/// </summary>
public sealed class ConvGradTiledTests : GpuTest
{
    static readonly string[] Gpu = { nameof(Conv2dWeightGradTiled), nameof(Conv2dBiasGradTree), nameof(Conv2dInputGradTiled) };
    const string InputTiled = "conv2d/conv2d.bwd_input_tiled", Gather = "conv_transpose2d/conv_transpose2d.fwd";

    // n, cin, cout, h, w, kh, kw, stride, padding, dilation, groups, weight split expected (the bias gradient, summed by the
    // weight gradient's .bias variant, is split with it)
    [TestCase(2, 3, 5, 7, 6, 3, 3, 1, 0, 1, 1, false, TestName = "TiledConv2dGradients_SmallNoSplit")]
    [TestCase(3, 8, 70, 17, 19, 3, 3, 1, 1, 1, 1, true, TestName = "TiledConv2dGradients_PartialTilesSplitAcrossImages")]
    [TestCase(2, 6, 10, 16, 15, 3, 3, 2, 1, 1, 1, false, TestName = "TiledConv2dGradients_Strided")]
    [TestCase(2, 4, 6, 13, 12, 3, 3, 1, 2, 2, 1, true, TestName = "TiledConv2dGradients_DilatedPaddedSplit")]
    [TestCase(2, 6, 8, 11, 10, 3, 3, 2, 1, 2, 2, false, TestName = "TiledConv2dGradients_GroupedStridedDilated")]
    [TestCase(2, 8, 8, 9, 9, 3, 3, 1, 1, 1, 8, false, TestName = "TiledConv2dGradients_Depthwise")]
    [TestCase(4, 20, 40, 26, 23, 3, 5, 1, 1, 1, 1, true, TestName = "TiledConv2dGradients_NonSquareKernelSplit")]
    [TestCase(3, 33, 17, 10, 11, 1, 1, 2, 0, 1, 1, false, TestName = "TiledConv2dGradients_PointwiseStrided")]
    [TestCase(2, 5, 3, 41, 40, 3, 3, 1, 1, 1, 1, true, TestName = "TiledConv2dGradients_FewChannelsLargeImage")]
    [TestCase(2, 70, 12, 9, 10, 3, 3, 1, 1, 1, 1, false, TestName = "TiledConv2dGradients_WideInputPartialChannelTile")]
    [TestCase(2, 6, 8, 11, 10, 3, 3, 1, 0, 1, 2, false, TestName = "TiledConv2dGradients_GroupedUnpadded")]
    [TestCase(2, 16, 64, 48, 48, 3, 3, 1, 1, 1, 1, true, TestName = "TiledConv2dGradients_EighteenSplits")]
    public void Conv2dMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int s, int p, int d, int g, bool weightSplit)
    {
        int r = 4100 + cin + 3 * cout + 7 * h + kw;
        var layer = new Conv2d(cin, cout, (kh, kw), (s, s), (p, p), (d, d), g);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * (cin / g) * kh * kw, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, r++);
        var res = Run(layer, xShape, x, wt, b, gy, Gpu);
        AssertPath(res.Kernels, weightSplit, biasSummed: true);
        Assert.That(res.Kernels, Does.Contain(s == 1 ? InputTiled : Gather), "the input gradient's kernel");

        var spec = new Conv2dSpec(n, cin, h, w, cout, kh, kw, s, s, p, p, d, d, g);
        var (gx, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(res.GradInput, gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.GradWeight, gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(res.GradBias, gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    // Conv2dInputGradFlipped: stride 1 dX as the forward kernel over dY with the flipped weight.
    // n, cin, cout, h, w, kh, kw, padding h, padding w, dilation, groups
    [TestCase(2, 3, 5, 7, 6, 3, 3, 0, 0, 1, 1, TestName = "FlippedInputGradient_Unpadded")]
    [TestCase(2, 6, 10, 11, 9, 3, 3, 1, 1, 1, 1, TestName = "FlippedInputGradient_Padded")]
    [TestCase(2, 4, 6, 13, 12, 3, 3, 2, 2, 2, 1, TestName = "FlippedInputGradient_Dilated")]
    [TestCase(2, 6, 8, 11, 10, 3, 3, 1, 1, 1, 2, TestName = "FlippedInputGradient_Grouped")]
    [TestCase(2, 8, 8, 9, 9, 3, 3, 1, 1, 1, 8, TestName = "FlippedInputGradient_Depthwise")]
    [TestCase(1, 5, 7, 9, 12, 3, 5, 1, 2, 1, 1, TestName = "FlippedInputGradient_NonSquareKernel")]
    [TestCase(3, 20, 33, 10, 11, 1, 1, 0, 0, 1, 1, TestName = "FlippedInputGradient_Pointwise")]
    public void FlippedInputGradientMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int ph, int pw, int d, int g)
    {
        int r = 4500 + cin + 3 * cout + 7 * h + kw;
        var layer = new Conv2d(cin, cout, (kh, kw), (1, 1), (ph, pw), (d, d), g);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * (cin / g) * kh * kw, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, r++);
        var res = Run(layer, xShape, x, wt, b, gy, new[] { nameof(Conv2dInputGradFlipped) });
        Assert.That(res.Kernels, Does.Contain("conv2d/conv2d.flip_weight"), "the input gradient's kernel");

        var spec = new Conv2dSpec(n, cin, h, w, cout, kh, kw, 1, 1, ph, pw, d, d, g);
        var (gx, _, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(res.GradInput, gx), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    // n, cin, cout, h, w, k, stride, padding, output padding, dilation, groups, weight split expected
    [TestCase(2, 16, 8, 8, 9, 4, 2, 1, 0, 1, 1, false, TestName = "TiledConvTranspose2dGradients_Upsample2x")]
    [TestCase(3, 40, 36, 12, 11, 3, 2, 1, 1, 1, 1, true, TestName = "TiledConvTranspose2dGradients_PartialTilesSplit")]
    [TestCase(2, 6, 4, 7, 8, 3, 1, 1, 0, 2, 2, false, TestName = "TiledConvTranspose2dGradients_GroupedDilated")]
    public void ConvTranspose2dMatchesReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int op, int d, int g, bool weightSplit)
    {
        int r = 4300 + cin + 3 * cout + 7 * h;
        var layer = new ConvTranspose2d(cin, cout, k, s, p, op, g, true, d);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cin * (cout / g) * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, r++);
        var res = Run(layer, xShape, x, wt, b, gy, Gpu);
        AssertPath(res.Kernels, weightSplit, biasSummed: false);

        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, op, op, d, d, g);
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(res.GradInput, gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.GradWeight, gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(res.GradBias, gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    /// <summary>Without a preference lavapipe keeps the serial kernels (their texel-read variants); the GPU entries do not run on a CPU device.</summary>
    [Test]
    public void LavapipePicksTheDirectKernelsByDefault()
    {
        var layer = new Conv2d(4, 6, 3, 1, 1);
        var xShape = new Shape(2, 4, 9, 9);
        var res = Run(layer, xShape, FixtureLayer.Uniform(xShape.Elements, 1), FixtureLayer.Uniform(6 * 4 * 9, 2),
            FixtureLayer.Uniform(6, 3), FixtureLayer.Uniform(2 * 6 * 81, 4), Array.Empty<string>());
        Assert.That(res.Kernels, Does.Contain("conv2d/conv2d.bwd_weight.texel").And.Contain("conv2d/conv2d.bwd_bias").And.Contain(Gather + ".texel"));
        Assert.That(res.Kernels, Does.Not.Contain("conv2d/conv2d.bwd_weight_tiled").And.Not.Contain("conv2d/conv2d.bwd_bias_tree")
            .And.Not.Contain(InputTiled));
    }

    /// <summary>The same split step twice gives bit-identical gradients (fixed order of partial sums, no atomics).</summary>
    [Test]
    public void SplitGradientsAreDeterministic()
    {
        var layer = new Conv2d(20, 40, 3, 1, 1);
        var xShape = new Shape(4, 20, 24, 23);
        var x = FixtureLayer.Uniform(xShape.Elements, 11);
        var wt = FixtureLayer.Uniform(40 * 20 * 9, 12);
        var b = FixtureLayer.Uniform(40, 13);
        var gy = FixtureLayer.Uniform(4 * 40 * 24 * 23, 14);
        var first = Run(layer, xShape, x, wt, b, gy, Gpu);
        var second = Run(layer, xShape, x, wt, b, gy, Gpu);
        AssertPath(first.Kernels, true, biasSummed: true);
        Assert.That(second.GradWeight, Is.EqualTo(first.GradWeight));
        Assert.That(second.GradBias, Is.EqualTo(first.GradBias));
        Assert.That(second.GradInput, Is.EqualTo(first.GradInput));
    }

    /// <summary>
    /// The plans for the benchmark layers give the GPU hundreds of workgroups: conv3x3 64->64 at 512x512, 256->256 at
    /// 128x128, and a batch-8 32-channel layer at 256x256.
    /// </summary>
    [TestCase(1, 64, 64 * 9, 512 * 512, 4, 4, TestName = "TiledWeightGradPlan_C64At512")]
    [TestCase(1, 256, 256 * 9, 128 * 128, 4, 4, TestName = "TiledWeightGradPlan_C256At128")]
    [TestCase(1, 32, 32 * 9, 8 * 256 * 256, 2, 4, TestName = "TiledWeightGradPlan_C32At256Batch8")]
    public void TiledPlansFillTheGpu(int groups, int c1G, int nG, long k, int tm, int tn)
    {
        var plan = Conv2dWeightGradTiled.Plan(groups, c1G, nG, k);
        Assert.That((plan.TM, plan.TN), Is.EqualTo((tm, tn)));
        Assert.That((long)plan.GroupsX * plan.GroupsY * plan.GroupsZ, Is.GreaterThanOrEqualTo(528));
        Assert.That((long)plan.Splits * plan.PixelsPerSplit, Is.GreaterThanOrEqualTo(k));
        Assert.That((long)(plan.Splits - 1) * plan.PixelsPerSplit, Is.LessThan(k), "no split is empty");
    }

    /// <summary>The tiled weight gradient ran, split or not; a Conv2d's bias gradient in its .bias variant (split with it, no
    /// pass of its own), a ConvTranspose2d's (whose plain operand is x, not dY) in the tree kernel.</summary>
    static void AssertPath(string[] kernels, bool weightSplit, bool biasSummed)
    {
        Assert.That(kernels, Does.Contain(biasSummed ? "conv2d/conv2d.bwd_weight_tiled.bias" : "conv2d/conv2d.bwd_weight_tiled"), "the tiled weight gradient runs");
        if (biasSummed) Assert.That(kernels, Has.None.StartWith("conv2d/conv2d.bwd_bias"), "no bias pass");
        else Assert.That(kernels, Does.Contain("conv2d/conv2d.bwd_bias_tree"), "the tree bias gradient runs");
        Assert.That(kernels, Does.Not.Contain("conv2d/conv2d.bwd_weight").And.Not.Contain("conv2d/conv2d.bwd_bias"));
        Assert.That(kernels.Contains("layer.bwd_weight.sum"), Is.EqualTo(weightSplit), "the weight gradient's K is split");
        Assert.That(kernels.Contains("layer.bwd_weight.bias.sum"), Is.EqualTo(weightSplit && biasSummed), "the bias partials are summed");
    }

    sealed record Result(string[] Kernels, float[] GradInput, float[] GradWeight, float[] GradBias);

    /// <summary>The layer alone, trained one step at learning rate 0 with a DotLoss against gy, preferring <paramref name="prefer"/>.</summary>
    static Result Run(Layer layer, Shape xShape, float[] x, float[] w, float[] b, float[] gy, IReadOnlyList<string> prefer)
    {
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = layer.OutputShape(new[] { xShape }) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
            Fuse = false,
            PreferKernels = prefer,
            // Forcing GPU entries stands for a GPU: the storage-buffer kernels around them, as a GPU runs them.
            TexelReads = prefer.Count > 0 ? false : null,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["layer.weight"].Upload(w);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();
        // Kernels and the labels of the partial sums, so a test can tell which path ran.
        var kernels = compiled.Plan.Dispatches.SelectMany(d => d.Kernel == "reduce/partials" ? new[] { d.Kernel, d.Label } : new[] { d.Kernel }).ToArray();
        return new Result(kernels, compiled.InputGradients["x"].ToArray(), compiled.Gradients["layer.weight"].ToArray(), compiled.Gradients["layer.bias"].ToArray());
    }
}
