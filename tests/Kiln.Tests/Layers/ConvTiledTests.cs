using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Conv2dTiled (shaders/conv2d/conv2d.fwd_tiled.comp, the GPU's fp32 forward for stride-1 layers), forced on lavapipe
/// through CompileOptions.PreferKernels and compared with the double CPU reference: tiles cut by the image's edge,
/// input channels not a multiple of the 8-channel chunk, output channels past one 32- or 64-channel group, no padding,
/// 1x1 and non-square kernels, activations. With Conv2dInputGradFlipped it also computes the stride-1 input gradient.
/// </summary>
public sealed class ConvTiledTests : GpuTest
{
    // n, cin, cout, h, w, kh, kw, ph, pw, bias, activation
    [TestCase(2, 16, 16, 19, 21, 3, 3, 1, 1, true, Activation.None, TestName = "TiledConv_PartialTiles")]
    [TestCase(1, 9, 32, 17, 13, 3, 3, 1, 1, true, Activation.ReLU, TestName = "TiledConv_NineInputChannelsRelu")]
    [TestCase(2, 40, 112, 12, 11, 3, 3, 1, 1, true, Activation.None, TestName = "TiledConv_TwoChannelGroupsPartial")]
    [TestCase(1, 5, 20, 16, 16, 3, 3, 0, 0, false, Activation.None, TestName = "TiledConv_UnpaddedNoBias")]
    [TestCase(2, 33, 64, 9, 35, 1, 1, 0, 0, true, Activation.LeakyReLU, TestName = "TiledConv_PointwiseLeaky")]
    [TestCase(1, 7, 24, 14, 18, 2, 3, 1, 0, true, Activation.Sigmoid, TestName = "TiledConv_NonSquareKernelSigmoid")]
    public void ForwardMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int ph, int pw, bool bias, Activation act) =>
        ConvTest.AssertForwardMatchesReference(Context, nameof(Conv2dTiled), "conv2d/conv2d.fwd_tiled", n, cin, cout, h, w, (kh, kw), (1, 1), (ph, pw), 1,
            bias, act, 8100 + cin + 3 * cout + h + kw);

    /// <summary>Strided, dilated, grouped or thin layers stay with the direct kernel even when the tiled one is preferred.</summary>
    [TestCase(2, 1, 1, 16, TestName = "TiledConv_DeclinesStride2")]
    [TestCase(1, 2, 1, 16, TestName = "TiledConv_DeclinesDilation2")]
    [TestCase(1, 1, 2, 16, TestName = "TiledConv_DeclinesGroups")]
    [TestCase(1, 1, 1, 8, TestName = "TiledConv_DeclinesFewOutputChannels")]
    public void DeclinedLayersFallBackToTheDirectKernel(int stride, int dilation, int groups, int cout)
    {
        var layer = new Conv2d(8, cout, (3, 3), (stride, stride), (dilation, dilation), (dilation, dilation), groups);
        var net = new Sequential(layer);
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(1, 8, 12, 12)) with { PreferKernels = new[] { nameof(Conv2dTiled) } });
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel).Single(), Does.StartWith("conv2d/conv2d.fwd").And.Not.Contain("tiled"));
    }

    /// <summary>The stride-1 input gradient as the tiled forward over dY with the flipped weight (the GPU's pair of entries).</summary>
    [Test]
    public void FlippedInputGradientThroughTheTiledForward()
    {
        var layer = new Conv2d(24, 40, 3, 1, 1);
        var xShape = new Shape(2, 24, 13, 18);
        var x = FixtureLayer.Uniform(xShape.Elements, 71);
        var wt = FixtureLayer.Uniform(40 * 24 * 9, 72);
        var b = FixtureLayer.Uniform(40, 73);
        var gy = FixtureLayer.Uniform(2 * 40 * 13 * 18, 74);
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = new Shape(2, 40, 13, 18) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
            Fuse = false,
            TexelReads = false,
            PreferKernels = new[] { nameof(Conv2dTiled), nameof(Conv2dInputGradFlipped) },
        });
        Assert.That(compiled.Plan.Dispatches.Count(d => d.Kernel == "conv2d/conv2d.fwd_tiled"), Is.EqualTo(2), "forward and input gradient");
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["layer.weight"].Upload(wt);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();
        var spec = new Conv2dSpec(2, 24, 13, 18, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var (gx, _, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["x"].ToArray(), gx), Is.LessThan(Tolerances.Gradient));
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b))), Is.LessThan(Tolerances.Forward));
    }
}
