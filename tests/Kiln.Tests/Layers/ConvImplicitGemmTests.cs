using Kiln.Layers;
using Kiln.Tests.Reference;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Conv2dImplicitGemm (shaders/conv2d/conv2d.fwd_gemm.comp, the GPU's f32 implicit GEMM) and the strided input
/// gradients and transposed convolutions it computes by output phase (Conv2dInputGradPhases), forced on lavapipe through
/// CompileOptions.PreferKernels and compared with the double CPU references within Tolerances.Forward and
/// Tolerances.Gradient: tiles cut by the channel and pixel edges, reductions that are not a multiple of the 16-deep
/// slice, strides, dilations, non-square kernels, phases without taps, fused activations and activation gradients.
/// </summary>
public sealed class ConvImplicitGemmTests : GpuTest
{
    const string Gemm = "conv2d/conv2d.fwd_gemm", AllPhases = "conv2d/conv2d.fwd_gemm.phases";
    static readonly string[] Phased = { nameof(Conv2dInputGradPhases) };

    // n, cin, cout, h, w, kh, kw, sh, sw, ph, pw, dilation, bias, activation
    [TestCase(2, 16, 24, 19, 21, 3, 3, 1, 1, 1, 1, 1, true, Activation.None, TestName = "GemmConv_PartialTiles")]
    [TestCase(3, 32, 40, 16, 16, 4, 4, 2, 2, 1, 1, 1, true, Activation.ReLU, TestName = "GemmConv_Strided4x4Relu")]
    [TestCase(1, 5, 136, 9, 7, 1, 1, 1, 1, 0, 0, 1, false, Activation.None, TestName = "GemmConv_PointwiseManyChannels")]
    [TestCase(2, 7, 20, 15, 13, 3, 3, 1, 1, 2, 2, 2, true, Activation.LeakyReLU, TestName = "GemmConv_Dilated")]
    [TestCase(1, 9, 33, 14, 18, 2, 3, 2, 1, 1, 0, 1, true, Activation.Sigmoid, TestName = "GemmConv_NonSquareKernelAndStrides")]
    public void ForwardMatchesReference(int n, int cin, int cout, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int d, bool bias,
        Activation act) =>
        ConvTest.AssertForwardMatchesReference(Context, nameof(Conv2dImplicitGemm), Gemm, n, cin, cout, h, w, (kh, kw), (sh, sw), (ph, pw), d, bias, act,
            9100 + cin + 3 * cout + h + kw);

    /// <summary>
    /// Tuned (named here), the kernel's tiles for the layer are timed against the direct kernel, the tuner's reference,
    /// and none disagrees with it; the choice matches the CPU reference. With 72 channels at 180 pixels the first four
    /// tiles fit (64x64, 128x128, 64x128, 128x64), with 40 channels at 30 pixels 64x32 and 32x32 (32x64 is the default of
    /// the thinner layers above).
    /// </summary>
    [TestCase(72, 2, 10, 9)]
    [TestCase(40, 1, 6, 5)]
    public void EveryTileAgreesWithTheDirectKernel(int cout, int n, int h, int w)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"kiln-gemm-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var layer = new Conv2d(8, cout, 3, 1, 1);
            var xShape = new Shape(n, 8, h, w);
            var x = FixtureLayer.Uniform(xShape.Elements, 11);
            var wt = FixtureLayer.Uniform(cout * 8 * 9, 12);
            var b = FixtureLayer.Uniform(cout, 13);
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var compiled = new Sequential(layer).Compile(ctx, CompileOptions.For("x", xShape) with
            {
                Autotune = true, PreferKernels = new[] { nameof(Conv2dImplicitGemm) }, ActivationLayout = TensorLayout.Nchw,
            });
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every tile agrees with the direct kernel");
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            Assert.That(choices, Does.Contain("conv2d.fwd|Conv2dImplicitGemm+Conv2dDirect|"), "both entries' candidates");
            compiled.SetInput("x", x);
            var prefix = compiled.Parameters.Keys.Single(k => k.EndsWith(".weight", StringComparison.Ordinal))[..^".weight".Length];
            compiled.Parameters[$"{prefix}.weight"].Upload(wt);
            compiled.Parameters[$"{prefix}.bias"].Upload(b);
            compiled.Run();
            var spec = new Conv2dSpec(n, 8, h, w, cout, 3, 3, 1, 1, 1, 1, 1, 1, 1);
            var expected = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
            Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The tiles the tuner times (both tiled GEMMs': TiledGemm): within the shaders' limits (TM, TN at most 8, BN
    /// dividing the invocations) and distinct.</summary>
    [Test]
    public void TilesFitTheShader()
    {
        Assert.That(TiledGemm.Tiles, Is.Unique);
        foreach (var (bm, bn, tm, tn) in TiledGemm.Tiles)
        {
            int threads = TiledGemm.Threads((bm, bn, tm, tn));
            Assert.That(threads, Is.EqualTo(bm / tm * (bn / tn)));
            Assert.That(tm <= 8 && tn <= 8 && bm % tm == 0 && bn % tn == 0, $"{bm}x{bn}t{tm}x{tn}");
            Assert.That(threads % bn, Is.EqualTo(0), $"{bm}x{bn}: one pixel per invocation in the im2col loads");
            Assert.That(threads, Is.InRange(64, 256));
        }
    }

    /// <summary>
    /// Strided layers' input gradients by output phase on the implicit GEMM: every phase in one dispatch (the workgroups'
    /// z), each writing every s-th pixel of its own, the phases' taps cut from the weight by one conv2d.flip_weight pass;
    /// phases without taps (a 1x1 kernel of stride 2, a dilation the stride shares) zero from the same dispatch; unequal
    /// strides, a stride of 3, no padding.
    /// </summary>
    [TestCase(16, 32, 3, 2, 2, 1, 1, 2, 17, 19, TestName = "GemmPhases_3x3Stride2")]
    [TestCase(24, 16, 4, 2, 2, 1, 1, 1, 16, 18, TestName = "GemmPhases_4x4Stride2")]
    [TestCase(16, 16, 5, 2, 2, 2, 1, 1, 15, 14, TestName = "GemmPhases_5x5Stride2")]
    [TestCase(20, 24, 3, 2, 2, 0, 1, 2, 12, 11, TestName = "GemmPhases_NoPadding")]
    [TestCase(40, 16, 1, 2, 2, 0, 1, 1, 13, 11, TestName = "GemmPhases_1x1ZeroPhases")]
    [TestCase(16, 16, 3, 3, 3, 1, 1, 1, 14, 16, TestName = "GemmPhases_Stride3")]
    [TestCase(16, 24, 3, 2, 1, 1, 1, 1, 13, 9, TestName = "GemmPhases_Stride2x1")]
    [TestCase(16, 24, 3, 2, 2, 2, 2, 1, 15, 13, TestName = "GemmPhases_Dilation2")]
    [TestCase(16, 16, 3, 3, 3, 2, 2, 1, 16, 14, TestName = "GemmPhases_Stride3Dilation2")]
    public void StridedInputGradientMatchesReference(int cin, int cout, int k, int sh, int sw, int p, int d, int n, int h, int w)
    {
        int r = 9300 + cin + 7 * cout + 11 * k + sh + 3 * sw + 5 * d;
        var layer = new Conv2d(cin, cout, (k, k), (sh, sw), (p, p), (d, d), 1, true);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * cin * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy,
            texelReads: false, preferKernels: Phased);

        var dx = res.Labels.Zip(res.Kernels).Where(q => q.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(q => q.Second).ToList();
        Assert.That(dx, Is.EquivalentTo(new[] { "conv2d/conv2d.flip_weight", AllPhases }), "every phase's taps, then every phase");
        Assert.That(res.GroupsOf("layer.bwd_input"), Does.EndWith($"x{sh * sw}"), "one phase per z");

        var spec = new Conv2dSpec(n, cin, h, w, cout, k, k, sh, sw, p, p, d, d, 1);
        var (gx, _, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    /// <summary>
    /// ConvTranspose2d's forward by output phase on the implicit GEMM, with its bias, every phase in one dispatch: output
    /// padding, a kernel narrower than the stride (its phases without taps get the bias), a stride above the kernel, a
    /// dilation; the backward through the layer's own kernels as before.
    /// </summary>
    // n, cin, cout, h, w, k, stride, padding, output padding, dilation
    [TestCase(2, 32, 16, 4, 5, 4, 2, 1, 0, 1, TestName = "GemmTransposed_Upsample2x")]
    [TestCase(1, 16, 24, 5, 4, 3, 2, 1, 1, 1, TestName = "GemmTransposed_OutputPadding")]
    [TestCase(2, 16, 16, 3, 4, 1, 2, 0, 1, 1, TestName = "GemmTransposed_KernelNarrowerThanStride")]
    [TestCase(1, 24, 16, 4, 3, 3, 4, 0, 0, 1, TestName = "GemmTransposed_Stride4")]
    [TestCase(1, 16, 16, 4, 4, 3, 2, 2, 1, 2, TestName = "GemmTransposed_Dilated")]
    public void TransposedForwardMatchesReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int op, int d)
    {
        int r = 9500 + cin + 7 * cout + 11 * k + s + 13 * op + 5 * d;
        var layer = new ConvTranspose2d(cin, cout, k, s, p, op, 1, true, d);
        var xShape = new Shape(n, cin, h, w);
        var yShape = layer.OutputShape(new[] { xShape });
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cin * cout * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(yShape.Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x }, new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy,
            texelReads: false, preferKernels: Phased);

        var fwd = res.Labels.Zip(res.Kernels).Where(q => q.First.StartsWith("layer.fwd", StringComparison.Ordinal)).Select(q => q.Second).ToList();
        Assert.That(fwd, Is.EquivalentTo(new[] { "conv2d/conv2d.flip_weight", AllPhases }), "every phase's taps, then every phase");

        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, op, op, d, d, 1);
        var y = RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    /// <summary>With an activation after it, the transposed convolution's phases take it in their epilogue, the phases
    /// without taps act(bias) (sigmoid: not 0), as the unfused layer computes.</summary>
    [TestCase(4, 2, 1, 0)]
    [TestCase(1, 2, 0, 1)]
    public void TransposedForwardTakesTheActivation(int k, int s, int p, int op)
    {
        var layer = new ConvTranspose2d(16, 16, k, s, p, op);
        var xShape = new Shape(2, 16, 5, 4);
        var x = FixtureLayer.Uniform(xShape.Elements, 31);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, 32);
        var fused = LayerHarness.RunFused(Context, layer, new Sigmoid(), xShape, x, gy, Precision.Fp32, texelReads: false, Phased);
        var plain = LayerHarness.RunFused(Context, layer, new Sigmoid(), xShape, x, gy, Precision.Fp32, texelReads: false, Array.Empty<string>());
        Assert.That(fused.Kernels, Does.Contain(AllPhases).And.None.StartWith("conv_transpose2d/conv_transpose2d.fwd"), string.Join(", ", fused.Kernels));
        Assert.That(RelativeError.MaxRelative(fused.Output, ConvTest.D(plain.Output)), Is.LessThan(Tolerances.Forward));
        Assert.That(RelativeError.MaxRelative(fused.InputGradients[0], ConvTest.D(plain.InputGradients[0])), Is.LessThan(Tolerances.Gradient));
    }

    /// <summary>
    /// A strided conv reading a conv and an activation: its input gradient's phases take the activation's derivative in the
    /// ".phases.dact" epilogue (no pass of the activation's own), and a phase no tap reaches is zero, not act(0); the step
    /// matches the unfused plan.
    /// </summary>
    [TestCase(4, 1, "relu")]
    [TestCase(1, 0, "sigmoid")]
    public void StridedPhasesTakeTheActivationGradient(int kernel, int padding, string activation)
    {
        Layer act = activation == "relu" ? new ReLU() : new Sigmoid();
        var (net, shapes) = Graph.ActivationGradientFusionTests.StridedChain(act, kernel, padding);
        var fused = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Phased);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out _, Phased);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo(AllPhases + ".dact"), Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("act.bwd"));
        foreach (var (name, values) in plain)
            Assert.That(RelativeError.MaxRelative(fused[name], ConvTest.D(values)), Is.LessThan(Tolerances.Gradient), name);
    }

    /// <summary>Layers with fewer than 16 channels on either side, and grouped ones, keep the gather even where the phased entry is named.</summary>
    [TestCase(8, 32, 1, TestName = "GemmPhases_DeclinesFewInputGradientChannels")]
    [TestCase(32, 8, 1, TestName = "GemmPhases_DeclinesFewOutputChannels")]
    [TestCase(32, 32, 2, TestName = "GemmPhases_DeclinesGroups")]
    public void DeclinedLayersKeepTheGather(int cin, int cout, int groups)
    {
        var layer = new Conv2d(cin, cout, 3, stride: 2, padding: 1, groups: groups);
        var xShape = new Shape(1, cin, 8, 8);
        var gy = new float[layer.OutputShape(new[] { xShape }).Elements];
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { new float[xShape.Elements] }, null, gy, texelReads: false, preferKernels: Phased);
        var dx = res.Labels.Zip(res.Kernels).Where(q => q.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(q => q.Second).ToList();
        Assert.That(dx, Is.EqualTo(new[] { "conv_transpose2d/conv_transpose2d.fwd" }));
    }
}
