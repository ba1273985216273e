using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Conv2dWinograd (shaders/conv2d/conv2d.fwd_winograd.comp, F(2x2, 3x3) for GPUs), forced on lavapipe through
/// CompileOptions.PreferKernels and compared with the double CPU reference: odd output sizes (tiles cut by the image's
/// edge), workgroups cut by it in both directions, input channels not a multiple of the 8-channel chunk, output
/// channels past one 32-channel group, padding 0 and 2, activations, and (tuned) each arrangement of the 32 tiles. With
/// Conv2dInputGradFlipped it computes the stride-1 input gradient from the weight turned in its transform pass; it reads
/// a concatenation through its .concat variant and f16 activations through its .f16 one. Conv2dWeightGradWinograd, the
/// weight gradient by the same transforms, with them against the reference for Conv2d and alone for a stride-1
/// ConvTranspose2d, and tuned against the tiled kernel.
/// </summary>
public sealed class ConvWinogradTests : GpuTest
{
    // n, cin, cout, h, w, pad, bias, activation
    [TestCase(2, 16, 16, 19, 21, 1, true, Activation.None, TestName = "Winograd_OddSizes")]
    [TestCase(1, 9, 32, 17, 13, 1, true, Activation.ReLU, TestName = "Winograd_NineInputChannelsRelu")]
    [TestCase(2, 40, 80, 12, 11, 1, true, Activation.None, TestName = "Winograd_ThreeChannelGroupsPartial")]
    [TestCase(1, 5, 20, 16, 16, 0, false, Activation.None, TestName = "Winograd_UnpaddedNoBias")]
    [TestCase(1, 12, 24, 7, 40, 2, true, Activation.LeakyReLU, TestName = "Winograd_Pad2Leaky")]
    [TestCase(3, 8, 16, 70, 6, 1, true, Activation.Sigmoid, TestName = "Winograd_TallSigmoid")]
    public void ForwardMatchesReference(int n, int cin, int cout, int h, int w, int pad, bool bias, Activation act)
    {
        int r = 9300 + cin + 3 * cout + h + pad;
        var layer = new Conv2d(cin, cout, (3, 3), (1, 1), (pad, pad), (1, 1), 1, bias);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * cin * 9, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var net = new Network();
        var y = net.Add(layer, "conv", net.Input("x"));
        if (act != Activation.None) y = net.Add(ConvTest.ActivationLayer(act), "act", y);
        net.Output(y, "y");
        using var compiled = net.Compile(Context, CompileOptions.For("x", xShape) with { PreferKernels = new[] { nameof(Conv2dWinograd) } });
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel),
            Is.EqualTo(new[] { Conv2dWinograd.WeightModule, "conv2d/conv2d.fwd_winograd" }), "the weight transform, then one fused dispatch");
        compiled.SetInput("x", x);
        compiled.Parameters["conv.weight"].Upload(wt);
        if (bias) compiled.Parameters["conv.bias"].Upload(b);
        compiled.Run();

        var spec = new Conv2dSpec(n, cin, h, w, cout, 3, 3, 1, 1, pad, pad, 1, 1, 1);
        var expected = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), bias ? ConvTest.D(b) : null).Select(v => ConvTest.Activate(v, act)).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
    }

    /// <summary>
    /// Under CompileOptions.Autotune every arrangement of the workgroup's 32 tiles (the entry's candidates) is timed
    /// against the direct kernel's tiles and agrees with them within the tuner's 1e-3; the tuned layer matches the reference.
    /// </summary>
    [Test]
    public void Autotune_TimesEveryTileArrangement()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-winograd-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var xShape = new Shape(2, 24, 23, 37);
            var x = FixtureLayer.Uniform(xShape.Elements, 9401);
            var wt = FixtureLayer.Uniform(48 * 24 * 9, 9402);
            var b = FixtureLayer.Uniform(48, 9403);
            var net = new Network();
            net.Output(net.Add(new Conv2d(24, 48, 3, padding: 1), "conv", net.Input("x")), "y");
            using var compiled = net.Compile(ctx, CompileOptions.For("x", xShape) with
            {
                Autotune = true, TexelReads = false, PreferKernels = new[] { nameof(Conv2dWinograd) },
                ActivationLayout = TensorLayout.Nchw, // the kernel choices alone, not the layout's
            });
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the direct kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("conv2d.fwd|Conv2dWinograd+Conv2dDirect|"));
            compiled.SetInput("x", x);
            compiled.Parameters["conv.weight"].Upload(wt);
            compiled.Parameters["conv.bias"].Upload(b);
            compiled.Run();
            var spec = new Conv2dSpec(2, 24, 23, 37, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1);
            var expected = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
            Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>f16 activations through the .f16 variants, forward, (with the flipped transform) input gradient and weight
    /// gradient, against the f32 run.</summary>
    [Test]
    public void F16Storage_MatchesTheF32Run()
    {
        var f16 = F16StorageConvTests.Matches(new Conv2d(16, 32, 3, padding: 1), new Shape(2, 16, 9, 11), texelReads: false,
            new[] { nameof(Conv2dWinograd), nameof(Conv2dInputGradFlipped), nameof(Conv2dWeightGradWinograd) }, "conv2d/conv2d.fwd_winograd.f16", new Tanh());
        Assert.That(f16.Kernels.Count(k => k == "conv2d/conv2d.fwd_winograd.f16"), Is.EqualTo(2), "forward and input gradient: " + string.Join(", ", f16.Kernels));
        Assert.That(f16.Kernels, Does.Contain("conv2d/conv2d.bwd_weight_winograd.bias.f16"));
    }

    /// <summary>
    /// The layer's forward and backward through the Winograd entries: the forward, the stride-1 input gradient as the
    /// Winograd forward over dY (its weight turned and swapped by the transform: no flipped copy; where the layer has
    /// fewer than 16 input channels, the input gradient's output, it is the direct kernel's over a flipped weight) and the
    /// weight gradient, split over workgroups or not, channel counts off the 32-channel blocks, padding 0 to 2, the bias
    /// gradient in it (its .bias variant: the sums of the transformed dY tiles' element (1, 1), no pass of its own).
    /// </summary>
    // n, cin, cout, h, w, pad
    [TestCase(2, 24, 40, 13, 18, 1, TestName = "WinogradBackward_OddSizes")]
    [TestCase(2, 24, 40, 13, 18, 0, TestName = "WinogradBackward_Unpadded")]
    [TestCase(1, 8, 16, 9, 7, 0, TestName = "WinogradBackward_FewInputChannels")]
    [TestCase(2, 40, 70, 12, 11, 2, TestName = "WinogradBackward_Pad2ThreeRowBlocks")]
    [TestCase(1, 33, 16, 70, 66, 1, TestName = "WinogradBackward_ManySplits")]
    public void BackwardMatchesReference(int n, int cin, int cout, int h, int w, int pad)
    {
        int r = 9500 + cin + cout + h + pad;
        var layer = new Conv2d(cin, cout, (3, 3), (1, 1), (pad, pad), (1, 1), 1, true);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * cin * 9, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy,
            texelReads: false, preferKernels: new[] { nameof(Conv2dWinograd), nameof(Conv2dInputGradFlipped), nameof(Conv2dWeightGradWinograd) });
        var kernels = string.Join(", ", res.Kernels);
        Assert.That(res.Kernels.Count(k => k == "conv2d/conv2d.fwd_winograd"), Is.EqualTo(cin >= 16 ? 2 : 1), kernels);
        Assert.That(res.Kernels.Contains("conv2d/conv2d.flip_weight"), Is.EqualTo(cin < 16), kernels);
        Assert.That(res.Kernels, Does.Contain("conv2d/conv2d.bwd_weight_winograd.bias"), kernels);
        Assert.That(res.Kernels, Has.None.StartWith("conv2d/conv2d.bwd_bias"), kernels);
        var spec = new Conv2dSpec(n, cin, h, w, cout, 3, 3, 1, 1, pad, pad, 1, 1, 1);
        var (gx, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b)), gx, gw, gb);
    }

    /// <summary>A stride-1 ConvTranspose2d's weight gradient, where the plain operand is x and the shifted one dY.</summary>
    [Test]
    public void TransposedConvolutionWeightGradientMatchesReference()
    {
        var layer = new ConvTranspose2d(20, 36, 3, padding: 1);
        var xShape = new Shape(2, 20, 11, 14);
        var yShape = layer.OutputShape(new[] { xShape });
        var x = FixtureLayer.Uniform(xShape.Elements, 9601);
        var wt = FixtureLayer.Uniform(20 * 36 * 9, 9602);
        var b = FixtureLayer.Uniform(36, 9603);
        var gy = FixtureLayer.Uniform(yShape.Elements, 9604);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy,
            texelReads: false, preferKernels: new[] { nameof(Conv2dWeightGradWinograd) });
        Assert.That(res.Kernels, Does.Contain("conv2d/conv2d.bwd_weight_winograd"), string.Join(", ", res.Kernels));
        var spec = new ConvTranspose2dSpec(2, 20, 11, 14, 36, 3, 3, PH: 1, PW: 1);
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b)), gx, gw, gb);
    }

    /// <summary>Under CompileOptions.Autotune the Winograd weight gradient is timed against the tiled kernel and agrees with it.</summary>
    [Test]
    public void Autotune_TimesTheWeightGradientAgainstTheTiledKernel()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-winograd-dw-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var layer = new Conv2d(24, 40, 3, padding: 1);
            var net = new Network();
            var y = net.Add(layer, "conv", net.Input("x"));
            net.Output(y, "y");
            net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
            var xShape = new Shape(2, 24, 20, 18);
            using var compiled = net.Compile(ctx, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = layer.OutputShape(new[] { xShape }) },
                Training = true, LearningRate = 0, Fuse = false, Autotune = true, TexelReads = false,
                ActivationLayout = TensorLayout.Nchw, // the kernel choices alone, not the layout's
                PreferKernels = new[] { nameof(Conv2dWeightGradWinograd), nameof(Conv2dWeightGradTiled) },
            });
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the tiled kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("conv2d.bwd_weight|Conv2dWeightGradWinograd+Conv2dWeightGradTiled"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Layers the kernel does not compute stay with the direct kernel even when it is preferred.</summary>
    [TestCase(2, 1, 1, 3, 16, TestName = "Winograd_DeclinesStride2")]
    [TestCase(1, 2, 1, 3, 16, TestName = "Winograd_DeclinesDilation2")]
    [TestCase(1, 1, 2, 3, 16, TestName = "Winograd_DeclinesGroups")]
    [TestCase(1, 1, 1, 5, 16, TestName = "Winograd_Declines5x5")]
    [TestCase(1, 1, 1, 3, 8, TestName = "Winograd_DeclinesFewOutputChannels")]
    public void DeclinedLayersFallBackToTheDirectKernel(int stride, int dilation, int groups, int kernel, int cout)
    {
        var layer = new Conv2d(8, cout, (kernel, kernel), (stride, stride), (dilation, dilation), (dilation, dilation), groups);
        var net = new Sequential(layer);
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(1, 8, 12, 12)) with { PreferKernels = new[] { nameof(Conv2dWinograd) } });
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel).Single(), Does.StartWith("conv2d/conv2d.fwd").And.Not.Contain("winograd"));
    }
}
