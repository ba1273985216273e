using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The cooperative_matrix2 convolution kernels (<see cref="Conv2dCoopMat2"/>, <see cref="Conv2dWeightGradCoopMat2"/>)
/// against the plain kernels: each layer at Fp16 with them named (and, through the forward, the flipped stride-1 input
/// gradient) agrees with its Fp32 run within
/// <see cref="Tolerances.F16Storage"/> of each tensor's largest value (<see cref="F16StorageConvTests.Matches"/>). On
/// Mesa 26's lavapipe (flexible dimensions, no workgroup scope) this is its .subgroup form: subgroup-scope matrices in a
/// one-subgroup workgroup, the same arithmetic as the workgroup-scope form a GPU runs. Their .concat variants read a
/// decoder's concatenation in both passes, and the forward's .pool variant takes an encoder's max pool, bit for bit the
/// unfused plans.
/// </summary>
public sealed class CooperativeMatrix2ConvTests : CooperativeMatrixTest
{
    static readonly string[] Named = { nameof(Conv2dCoopMat2), nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dInputGradFlipped) };
    const string Pack = "conv2d/conv2d.pack_weight_f16";

    [SetUp]
    public void RequireCooperativeMatrix2()
    {
        if (Context.KernelDevice.CooperativeMatrix2) return;
        Assert.Fail($"{Context.Info.Name} has no VK_NV_cooperative_matrix2 with flexible dimensions and per-element operations " +
                    $"({string.Join(", ", Context.Info.CooperativeMatrix2Missing)} missing): tools/coopmat-lavapipe.sh test runs these tests on Mesa 26's lavapipe.");
    }

    [Test]
    public void CooperativeMatrix2_IsEnabledWithItsShapes()
    {
        Assert.That(Context.CooperativeMatrix2Enabled, Is.True, "the extension and its features are enabled on Kiln's own device");
        Assert.That(Context.Info.CooperativeMatrix2Shapes.Select(s => s.ToString()), Has.Some.Contains("f16*f16+f32->f32"));
        Assert.That(Conv2dCoopMat2.Tiles(Context.KernelDevice), Is.Not.Empty, string.Join(", ", Context.Info.CooperativeMatrix2Shapes));
    }

    static TestCaseData Case(string name, Layer layer, Shape x) => new TestCaseData(layer, x).SetArgDisplayNames(name);

    /// <summary>
    /// 3x3 layers with padding (the zeros of the gather), Cin not a multiple of the step (the packed weight's zero columns),
    /// Cout not a multiple of the channel tile and pixel counts not a multiple of the pixel tile (the epilogue's bounds), a
    /// batch whose images meet inside a tile, no bias, 1x1, 5x5, stride and dilation 2, several steps per tap.
    /// </summary>
    static IEnumerable<TestCaseData> Layers() => new[]
    {
        Case("3x3_pad1", new Conv2d(16, 32, 3, padding: 1), new Shape(2, 16, 9, 10)),
        Case("3x3_cin9_cout24_edges", new Conv2d(9, 24, 3, padding: 1), new Shape(1, 9, 13, 11)),
        Case("3x3_cin40_three_steps", new Conv2d(40, 40, 3, padding: 1), new Shape(2, 40, 7, 6)),
        Case("3x3_no_bias_no_padding", new Conv2d(16, 16, 3, bias: false), new Shape(1, 16, 12, 9)),
        Case("1x1_wide", new Conv2d(48, 72, 1), new Shape(1, 48, 5, 13)),
        Case("5x5_stride2", new Conv2d(8, 16, 5, stride: 2, padding: 2), new Shape(2, 8, 15, 14)),
        Case("3x3_dilation2", new Conv2d(16, 20, 3, padding: 2, dilation: 2), new Shape(1, 16, 12, 11)),
        Case("transpose_3x3", new ConvTranspose2d(24, 16, 3, padding: 1), new Shape(2, 24, 6, 7)),
        Case("3x3_split_pixels", new Conv2d(8, 16, 3, padding: 1), new Shape(2, 8, 48, 40)),
    };

    /// <summary>Random layers the cooperative_matrix2 kernels take (kernel 1 to 5, stride 1 or 2, dilation 2 now and then,
    /// padding up to half the span, 16 to 90 output channels, sizes and batch drawn), fixed seed.</summary>
    static IEnumerable<TestCaseData> RandomLayers()
    {
        var rng = new Random(2711);
        for (int made = 0; made < 8;)
        {
            int k = new[] { 1, 2, 3, 3, 5 }[rng.Next(5)], st = rng.Next(1, 3), d = k <= 3 && rng.Next(4) == 0 ? 2 : 1;
            int p = rng.Next(0, ((k - 1) * d + 1) / 2 + 1);
            int cin = rng.Next(1, 50), cout = rng.Next(16, 91), h = rng.Next(3, 30), w = rng.Next(3, 30), n = rng.Next(1, 3);
            if (h + 2 * p < (k - 1) * d + 1 || w + 2 * p < (k - 1) * d + 1) continue;
            made++;
            yield return Case($"n{n}_{cin}to{cout}_{h}x{w}_k{k}s{st}p{p}d{d}", new Conv2d(cin, cout, k, st, p, d), new Shape(n, cin, h, w));
        }
    }

    [TestCaseSource(nameof(Layers))]
    [TestCaseSource(nameof(RandomLayers))]
    public void MatchesThePlainKernels(Layer layer, Shape x)
    {
        var f16 = F16StorageConvTests.Matches(layer, x, texelReads: false, Named, null);
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? ".f16" : ".subgroup.f16";
        if (layer is Conv2d) Assert.That(f16.Kernels, Does.Contain("conv2d/conv2d.fwd_coopmat2" + form), string.Join(", ", f16.Kernels));
        // A Conv2d's bias gradient comes from the weight gradient's .bias variant (ConvWeightGrad.SummingBias): no pass of its own.
        bool summed = layer is Conv2d { Attributes.Bias: true };
        Assert.That(f16.Kernels, Does.Contain("conv2d/conv2d.bwd_weight_coopmat2" + (summed ? form.Replace(".f16", ".bias.f16") : form)), string.Join(", ", f16.Kernels));
        if (summed) Assert.That(f16.Kernels, Has.None.StartWith("conv2d/conv2d.bwd_bias"), string.Join(", ", f16.Kernels));
        Assert.That(f16.Kernels, Does.Contain(Pack), "the weight packed to f16 first");
        if (x.Elements > 20000) Assert.That(f16.Kernels, Does.Contain("reduce/partials"), "the weight gradient split over the pixels");
    }

    /// <summary>A fused activation in the per-element epilogue, and the stride-1 input gradient through the same kernel with
    /// the weight packed turned and swapped (no flipped copy).</summary>
    [Test]
    public void FusesTheActivation_AndRunsTheInputGradient()
    {
        var f16 = F16StorageConvTests.Matches(new Conv2d(16, 24, 3, padding: 1), new Shape(2, 16, 8, 9), texelReads: false, Named, null, new LeakyReLU(0.1f));
        var dx = f16.Labels.Zip(f16.Kernels).Where(p => p.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(dx, Has.Some.StartWith("conv2d/conv2d.fwd_coopmat2"), string.Join(", ", dx));
        Assert.That(dx, Has.None.EqualTo("conv2d/conv2d.flip_weight"), "packed turned, never flipped on its own");
    }

    /// <summary>
    /// A decoder-like conv over Concat(Upsample(a), b) in a training plan: the forward and the weight gradient read both
    /// inputs through their .concat variants (the concatenation never written), bit for bit the unfused plan's loss and
    /// gradients (the same kernels over the written concatenation); channel counts off the steps, the seam inside one.
    /// </summary>
    [TestCase(20, 9, 3, true)]
    [TestCase(9, 20, 3, false)]
    public void ConcatReads_InBothPasses_AsTheUnfusedPlan(int lowChannels, int skipChannels, int scale, bool upFirst)
    {
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";
        CooperativeMatrixConcatConvTests.TrainingReadsBothInputs(lowChannels, skipChannels, scale, upFirst, 3, Named,
            $"conv2d/conv2d.fwd_coopmat2{form}.concat.f16", $"conv2d/conv2d.bwd_weight_coopmat2{form}.concat.bias.f16");
    }

    /// <summary>
    /// In an inference plan the cooperative_matrix2 convolution takes the 2x2 max pool after it in its epilogue (.pool: the
    /// tile's pixels ordered by the pool's windows): only the pooled output is written, bit for bit the unfused plan's (the
    /// same kernel, then the pool); channel counts off the tiles, a batch of two.
    /// </summary>
    [TestCase(16, 32, 12, 20)]
    [TestCase(9, 24, 10, 14)]
    public void PooledEpilogue_MatchesTheUnfusedPlan(int cin, int cout, int h, int w)
    {
        float[] Run(bool fuse, out string[] kernels) => CooperativeMatrixConvTests.PooledConv(cin, cout, h, w, fuse, nameof(Conv2dCoopMat2), out kernels);
        var fused = Run(true, out var kernels);
        var plain = Run(false, out var plainKernels);
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";
        Assert.That(kernels, Does.Contain($"conv2d/conv2d.fwd_coopmat2{form}.pool.f16").And.None.StartsWith("pool/"), string.Join(", ", kernels));
        Assert.That(plainKernels, Does.Contain($"conv2d/conv2d.fwd_coopmat2{form}.f16").And.Contain("pool/pool.fwd.f16"));
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
    }

    /// <summary>
    /// A conv output read by its pool and by the decoder (a UNet encoder's skip) is written by the cooperative_matrix2
    /// convolution that takes the pool (its .pool.keep variant: the window's four values from the result tile too), in both
    /// layouts: a training step within the f16-storage tolerance of the unfused step's, an inference plan's two outputs bit
    /// for bit the unfused plan's (<see cref="CooperativeMatrixConvTests.ConvOutputReadByItsPool"/>).
    /// </summary>
    [TestCase(TensorLayout.Nchw, nameof(Conv2dCoopMat2), "")]
    [TestCase(TensorLayout.Nhwc, nameof(Conv2dCoopMat2Nhwc), ".nhwc")]
    public void ConvOutputReadByItsPoolAndTheDecoder_IsWrittenByThePoolingKernel(TensorLayout layout, string entry, string nhwc)
    {
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";
        CooperativeMatrixConvTests.ConvOutputReadByItsPool(layout, entry, $"conv2d/conv2d.fwd_coopmat2{form}{nhwc}.pool.keep.f16");
    }

    /// <summary>
    /// The pool's gradient taken by the cooperative_matrix2 convolution computing the input gradient of the conv that reads
    /// the pool (its .unpool variant, from the f16 result tile), in both layouts: a training step within the f16-storage
    /// tolerance of the unfused step's (<see cref="CooperativeMatrixConvTests.PoolGradientTakenBy"/>).
    /// </summary>
    [TestCase(TensorLayout.Nchw, nameof(Conv2dCoopMat2), "")]
    [TestCase(TensorLayout.Nhwc, nameof(Conv2dCoopMat2Nhwc), ".nhwc")]
    public void TheInputGradientOfThePoolsReader_WritesThePoolsGradient(TensorLayout layout, string entry, string nhwc)
    {
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";
        CooperativeMatrixConvTests.PoolGradientTakenBy(layout, entry, $"conv2d/conv2d.fwd_coopmat2{form}{nhwc}.unpool.f16");
    }

    /// <summary>
    /// A strided layer's input gradient phase by phase on the cooperative_matrix2 convolution (named: it writes every s-th
    /// pixel of dX, its weight packing taking the phase's taps turned and swapped; a 3x3 kernel of stride 2 and dilation 2,
    /// whose odd phases no tap reaches), and in one dispatch of the .phases variant (the phase in z; odd sizes, so the
    /// phases' grids differ) a 3x3 stride-2 layer's input gradient (its phases of 1 to 4 taps each run as 2x2, zero weights
    /// for those it lacks), a strided transposed convolution's forward with its bias and activation, every phase of its 4x4
    /// kernel 2x2 taps, and a 4x4 convolution's input gradient; against the Fp32 run.
    /// </summary>
    [Test]
    public void StridedInputGradient_RunsByPhase()
    {
        var named = new[] { nameof(Conv2dCoopMat2), nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dInputGradCoopMatStrided) };
        var form = Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";
        var f16 = F16StorageConvTests.Matches(new Conv2d(16, 24, 3, stride: 2, padding: 2, dilation: 2), new Shape(2, 16, 17, 19), texelReads: false, named, null);
        var dx = f16.Labels.Zip(f16.Kernels).Where(p => p.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(dx.Count(k => k == $"conv2d/conv2d.fwd_coopmat2{form}.f16"), Is.EqualTo(1), string.Join(", ", dx));
        Assert.That(dx.Count(k => k == "conv2d/conv2d.phase_fill.f16"), Is.EqualTo(3), "the phases no tap reaches");
        var three = F16StorageConvTests.Matches(new Conv2d(16, 24, 3, stride: 2, padding: 1), new Shape(2, 16, 17, 19), texelReads: false, named, null);
        var dx3 = three.Labels.Zip(three.Kernels).Where(p => p.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(dx3.Where(k => !k.Contains("pack_weight")), Is.EqualTo(new[] { $"conv2d/conv2d.fwd_coopmat2{form}.phases.f16" }), string.Join(", ", dx3));
        var transposed = F16StorageConvTests.Matches(new ConvTranspose2d(24, 16, 4, stride: 2, padding: 1), new Shape(2, 24, 7, 9), texelReads: false, named, null, new Tanh());
        var fwd = transposed.Labels.Zip(transposed.Kernels).Where(p => p.First.StartsWith("layer.fwd", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(fwd.Where(k => !k.Contains("pack_weight")), Is.EqualTo(new[] { $"conv2d/conv2d.fwd_coopmat2{form}.phases.f16" }), string.Join(", ", fwd));
        var four = F16StorageConvTests.Matches(new Conv2d(16, 24, 4, stride: 2, padding: 1), new Shape(2, 16, 15, 13), texelReads: false, named, null);
        var dx4 = four.Labels.Zip(four.Kernels).Where(p => p.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(dx4.Where(k => !k.Contains("pack_weight")), Is.EqualTo(new[] { $"conv2d/conv2d.fwd_coopmat2{form}.phases.f16" }), string.Join(", ", dx4));
    }
}
