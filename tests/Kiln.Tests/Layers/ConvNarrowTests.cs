using Kiln.Layers;
using Kiln.Tests.Graph;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Conv2dNarrow (shaders/conv2d/conv2d.fwd_narrow.comp, the GPU's forward for layers of at most 8 output channels),
/// named on lavapipe through CompileOptions.PreferKernels and compared with the double CPU reference: the denoiser's last
/// layer (64 -> 3) on tiles cut by the image's edge, input channels not a multiple of the 8-channel step, strides,
/// dilation, a 5x5 kernel at stride 2, non-square kernels, 1x1, several images and activations. Its f16 storage and its .dact
/// variant are checked with the other entries (F16StorageConvTests, ActivationGradientFusionTests), its channels-last
/// form against it here.
/// </summary>
public sealed class ConvNarrowTests : GpuTest
{
    // n, cin, cout, h, w, kh, kw, stride, padding, dilation, bias, activation
    [TestCase(1, 64, 3, 37, 70, 3, 3, 1, 1, 1, true, Activation.None, TestName = "NarrowConv_DenoiserLastLayerPartialTiles")]
    [TestCase(2, 13, 8, 19, 23, 3, 3, 1, 1, 1, true, Activation.ReLU, TestName = "NarrowConv_ThirteenInputChannelsRelu")]
    [TestCase(3, 5, 4, 17, 29, 3, 3, 2, 1, 1, false, Activation.None, TestName = "NarrowConv_Stride2NoBias")]
    [TestCase(1, 6, 2, 21, 18, 3, 3, 1, 2, 2, true, Activation.Sigmoid, TestName = "NarrowConv_Dilation2Sigmoid")]
    [TestCase(1, 3, 1, 23, 26, 5, 5, 2, 2, 1, true, Activation.ReLU, TestName = "NarrowConv_5x5Stride2OneChannelRelu")]
    [TestCase(2, 20, 2, 9, 66, 1, 1, 1, 0, 1, true, Activation.LeakyReLU, TestName = "NarrowConv_Pointwise")]
    [TestCase(1, 9, 5, 12, 15, 2, 3, 1, 0, 1, true, Activation.None, TestName = "NarrowConv_NonSquareUnpadded")]
    public void ForwardMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int s, int p, int d, bool bias, Activation act) =>
        ConvTest.AssertForwardMatchesReference(Context, nameof(Conv2dNarrow), "conv2d/conv2d.fwd_narrow", n, cin, cout, h, w, (kh, kw), (s, s), (p, p), d,
            bias, act, 9100 + cin + 3 * cout + h + kw);

    /// <summary>Layers of more than 8 output channels, or grouped ones, stay with the direct kernel when it is named.</summary>
    [TestCase(9, 1, 1, 12, TestName = "NarrowConv_DeclinesNineOutputChannels")]
    [TestCase(8, 2, 1, 12, TestName = "NarrowConv_DeclinesGroups")]
    [TestCase(3, 1, 65536, 8, TestName = "NarrowConv_DeclinesMoreTilesThanADispatchHolds")]
    public void DeclinedLayersFallBackToTheDirectKernel(int cout, int groups, int n, int size)
    {
        var net = new Sequential(new Conv2d(8, cout, 3, padding: 1, groups: groups));
        var plan = Kiln.Graph.Compiler.Plan(net, Context.KernelDevice,
            CompileOptions.For("x", new Shape(n, 8, size, size)) with { PreferKernels = new[] { nameof(Conv2dNarrow) } });
        Assert.That(plan.Emitter.Steps.Select(s => s.Spec.Module).Single(), Does.StartWith("conv2d/conv2d.fwd").And.Not.Contain("narrow"));
    }

    /// <summary>Every tile fits a GPU's 48 KiB for the denoiser's last layer; the largest patches (5x5 or dilated 3x3, at
    /// stride 2) still have one within lavapipe's 32 KiB.</summary>
    [Test]
    public void TheTilesFitTheLargestPatch()
    {
        var gpu = Context.KernelDevice with { MaxSharedMemoryBytes = 48 * 1024, MaxWorkgroupInvocations = 1024 };
        var small = Context.KernelDevice with { MaxSharedMemoryBytes = 32 * 1024, MaxWorkgroupInvocations = 256 };
        Assert.That(Conv2dNarrow.Tiles(gpu, new ConvAttributes(64, 3, (3, 3), (1, 1), (1, 1), (1, 1), 1, true)).Count(), Is.EqualTo(4));
        Assert.That(Conv2dNarrow.Tiles(small, new ConvAttributes(3, 3, (5, 5), (2, 2), (2, 2), (1, 1), 1, true)), Is.Not.Empty);
        Assert.That(Conv2dNarrow.Tiles(small, new ConvAttributes(3, 3, (3, 3), (2, 2), (2, 2), (2, 2), 1, true)), Is.Not.Empty);
    }

    /// <summary>
    /// Its channels-last form (<see cref="Conv2dNarrowNhwc"/>) in a training step, NHWC against NCHW, each layout's entry
    /// named: a 13 -> 4 conv and ReLU (the narrow forward), a 4 -> 16 conv whose input gradient is a 16 -> 4 convolution
    /// of dY through the ReLU's derivative (the narrow kernel's .nhwc.dact), and a 16 -> 3 head. Every gradient, bit for bit.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void ChannelsLast_IsTheNchwStepBitForBit(Precision precision)
    {
        var x = new Shape(2, 13, 19, 23);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(13, 4, 3, padding: 1), "narrow", net.Input("x")));
        var y = net.Add(new Conv2d(16, 3, 3, padding: 1), "head", net.Add(new Conv2d(4, 16, 3, padding: 1), "wide", h));
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["grad_y"] = new(2, 3, 19, 23) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, LossScaling = LossScaling.Off,
            Precision = precision, TexelReads = false,
        };
        ChannelsLastTests.TrainingStep Step(TensorLayout layout, string entry) => ChannelsLastTests.Train(Context, net,
            options with { ActivationLayout = layout, PreferKernels = new[] { entry, nameof(Conv2dInputGradFlipped) } }, 60);
        var nchw = Step(TensorLayout.Nchw, nameof(Conv2dNarrow));
        var nhwc = Step(TensorLayout.Nhwc, nameof(Conv2dNarrowNhwc));
        var kernels = nhwc.Plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Has.Some.StartWith("conv2d/conv2d.fwd_narrow.nhwc.dact").And.Some.StartWith("conv2d/conv2d.fwd_narrow.nhwc"),
            string.Join(", ", kernels));
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartWith("conv2d/conv2d.fwd_narrow.dact"));
        ChannelsLastTests.AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Count(v => v != 0), Is.GreaterThan(g.Length / 2), $"{name}'s gradient is real");
    }
}
