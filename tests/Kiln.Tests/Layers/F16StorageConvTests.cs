using Kiln.Tests.Acceptance;
using Kiln.Layers;
using Kiln.Models;
using Kiln.Tests.Reference;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// f16 activation storage of Conv2d and ConvTranspose2d agrees with f32 storage (the <see cref="F16StorageCheck"/>
/// comparison: output, input gradient, weight and bias gradients within <see cref="Tolerances.F16Storage"/> of each
/// tensor's largest magnitude), for the kernels the registry picks on this device and, forced by name, for the GPU's
/// entries (tiled forward, flipped and tiled input gradients, tiled weight gradient, tree bias gradient), each through
/// storage buffers and texel reads; every conv kernel of the f16 run is its f16-storage variant. Also: the tuner times
/// the f16 variants under Fp16.
/// </summary>
public sealed class F16StorageConvTests : GpuTest
{
    static IEnumerable<TestCaseData> Conv2dLayers() => new[]
    {
        Case("1x1", new Conv2d(8, 12, 1), new Shape(2, 8, 7, 9)),
        Case("3x3_pad1", new Conv2d(5, 16, 3, padding: 1), new Shape(2, 5, 11, 10)),
        Case("stride2", new Conv2d(6, 10, 3, stride: 2, padding: 1), new Shape(2, 6, 13, 12)),
        Case("groups2", new Conv2d(8, 12, 3, padding: 1, groups: 2), new Shape(2, 8, 9, 9)),
        Case("depthwise", new Conv2d(6, 6, 3, padding: 1, groups: 6), new Shape(2, 6, 9, 10)),
        Case("dilation2", new Conv2d(4, 8, 3, padding: 2, dilation: 2), new Shape(1, 4, 12, 11)),
        Case("no_bias", new Conv2d(5, 7, 3, padding: 1, bias: false), new Shape(2, 5, 8, 9)),
        Case("one_input_channel", new Conv2d(1, 8, 3, padding: 1), new Shape(3, 1, 10, 10)),
        Case("5x5_stride2_one_image", new Conv2d(3, 9, 5, stride: 2, padding: 2), new Shape(1, 3, 15, 14)),
    }.SelectMany(c => c);

    static IEnumerable<TestCaseData> ConvTranspose2dLayers() => new[]
    {
        Case("k4_stride2", new ConvTranspose2d(6, 4, 4, stride: 2, padding: 1), new Shape(2, 6, 5, 6)),
        Case("k3_stride2_output_padding", new ConvTranspose2d(5, 3, 3, stride: 2, padding: 1, outputPadding: 1), new Shape(2, 5, 6, 5)),
        Case("one_output_channel", new ConvTranspose2d(4, 1, 3, padding: 1), new Shape(2, 4, 7, 8)),
        Case("groups2_dilation2", new ConvTranspose2d(4, 6, 3, groups: 2, dilation: 2), new Shape(1, 4, 6, 6)),
        Case("no_bias", new ConvTranspose2d(3, 5, 2, stride: 2, bias: false), new Shape(2, 3, 5, 5)),
    }.SelectMany(c => c);

    /// <summary>The GPU's entries, named (lavapipe picks the direct kernels by itself), and a kernel each must show in the plan.</summary>
    static IEnumerable<TestCaseData> PreferredEntries() => new[]
    {
        Case("tiled_forward", new Conv2d(9, 32, 3, padding: 1), new Shape(2, 9, 17, 13),
            "conv2d/conv2d.fwd_tiled.f16", nameof(Conv2dTiled)),
        Case("narrow_forward", new Conv2d(24, 3, 3, padding: 1), new Shape(2, 24, 11, 70),
            "conv2d/conv2d.fwd_narrow.f16", nameof(Conv2dNarrow)),
        Case("flipped_input_grad", new Conv2d(6, 16, 3, padding: 1), new Shape(2, 6, 10, 9),
            "conv2d/conv2d.flip_weight", nameof(Conv2dInputGradFlipped)),
        Case("tiled_input_grad", new Conv2d(20, 24, 3, padding: 1), new Shape(2, 20, 9, 11),
            "conv2d/conv2d.bwd_input_tiled.f16", nameof(Conv2dInputGradTiled)),
        Case("tiled_input_grad_groups_dilation", new Conv2d(8, 12, 3, padding: 2, dilation: 2, groups: 2), new Shape(1, 8, 11, 10),
            "conv2d/conv2d.bwd_input_tiled.f16", nameof(Conv2dInputGradTiled)),
        // A Conv2d's bias gradient in the tiled weight gradient (its .bias variant); without a bias the plain kernel.
        Case("tiled_weight_grad_split", new Conv2d(9, 20, 3, padding: 1), new Shape(2, 9, 17, 13),
            "conv2d/conv2d.bwd_weight_tiled.bias.f16", nameof(Conv2dWeightGradTiled)),
        Case("tiled_weight_grad_stride2", new Conv2d(6, 10, 3, stride: 2, padding: 1), new Shape(2, 6, 13, 12),
            "conv2d/conv2d.bwd_weight_tiled.bias.f16", nameof(Conv2dWeightGradTiled)),
        Case("tiled_weight_grad_no_bias", new Conv2d(6, 10, 3, padding: 1, bias: false), new Shape(2, 6, 13, 12),
            "conv2d/conv2d.bwd_weight_tiled.f16", nameof(Conv2dWeightGradTiled)),
        Case("tree_bias_grad_split", new Conv2d(4, 8, 3, padding: 1), new Shape(2, 4, 40, 40),
            "conv2d/conv2d.bwd_bias_tree.f16", nameof(Conv2dBiasGradTree)),
        Case("all_gpu_entries", new Conv2d(16, 40, 3, padding: 1), new Shape(2, 16, 12, 14),
            "conv2d/conv2d.bwd_input_tiled.f16", nameof(Conv2dTiled), nameof(Conv2dInputGradTiled), nameof(Conv2dWeightGradTiled), nameof(Conv2dBiasGradTree)),
        Case("transpose_gpu_entries", new ConvTranspose2d(24, 16, 3, padding: 1), new Shape(2, 24, 9, 10),
            "conv2d/conv2d.fwd_tiled.f16", nameof(Conv2dTiled), nameof(Conv2dWeightGradTiled), nameof(Conv2dBiasGradTree)),
    }.SelectMany(c => c);

    /// <summary>The case through storage buffers and through texel reads.</summary>
    static IEnumerable<TestCaseData> Case(string name, Layer layer, Shape x, string? expectKernel = null, params string[] prefer) =>
        new[] { false, true }.Select(texel => new TestCaseData(layer, x, texel, expectKernel, prefer).SetArgDisplayNames(name + (texel ? "_texel" : "")));

    [TestCaseSource(nameof(Conv2dLayers))]
    public void Conv2d_MatchesF32(Layer layer, Shape x, bool texelReads, string? expectKernel, string[] prefer) =>
        Matches(layer, x, texelReads, prefer, expectKernel);

    [TestCaseSource(nameof(ConvTranspose2dLayers))]
    public void ConvTranspose2d_MatchesF32(Layer layer, Shape x, bool texelReads, string? expectKernel, string[] prefer) =>
        Matches(layer, x, texelReads, prefer, expectKernel);

    [TestCaseSource(nameof(PreferredEntries))]
    public void PreferredEntry_MatchesF32(Layer layer, Shape x, bool texelReads, string? expectKernel, string[] prefer) =>
        Matches(layer, x, texelReads, prefer, expectKernel);

    /// <summary>
    /// An activation folded into the conv kernel (Fuse on) is applied before the f16 store, and its derivative taken from
    /// the f16 output in the backward. Smooth activations only: a ReLU's derivative flips between its two values where
    /// the f16-rounded inputs move a pre-activation across zero (seen here: -1.3e-5 in f32, +1.3e-5 with f16 storage), a
    /// difference of f16 storage itself, not of the kernels.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void FusedActivation_MatchesF32(bool transpose)
    {
        Layer conv = transpose ? new ConvTranspose2d(6, 8, 3, stride: 2, padding: 1) : new Conv2d(6, 8, 3, padding: 1);
        Matches(conv, new Shape(2, 6, 9, 8), texelReads: true, Array.Empty<string>(), null, transpose ? new Sigmoid() : new Tanh());
    }

    /// <summary>
    /// Under Fp16 with Autotune (off on lavapipe unless asked) the candidates are timed as the f16-storage variants they
    /// dispatch, on scratch buffers of the f16 values' sizes (texel candidates through R16 views): the pipelines made are
    /// the candidates' and the two conversions', none for an f32 variant, and the tuned layer agrees with f32.
    /// </summary>
    [Test]
    public void Autotune_TimesTheF16Variants()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-f16-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var layer = new Conv2d(5, 16, 3, padding: 1);
            var xShape = new Shape(2, 5, 10, 9);
            var x = Random(xShape.Elements, 11);
            var expected = Forward(Context, layer, xShape, x, Precision.Fp32, autotune: false);
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var (y, kernels) = ForwardWithKernels(ctx, layer, xShape, x, Precision.Fp16, autotune: true);
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every f16 candidate agrees with the default kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("conv2d.fwd|Conv2dTiled+Conv2dDirect|Fp16|texel|"));
            Assert.That(kernels, Has.Length.EqualTo(3), string.Join(", ", kernels));
            Assert.That(kernels[1], Does.StartWith("conv2d/conv2d.fwd").And.EndWith(".f16"));
            int candidates = Conv2dDirect.Blocks(9, 16).Count() + 1;
            Assert.That(ctx.Pipelines.Count, Is.EqualTo(candidates + 2),
                "every candidate timed as the f16 variant the layer dispatches, plus to_storage and from_storage");
            F16StorageCheck.Close(y, expected, Tolerances.F16Storage, "tuned output");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// The fashion-ae conv autoencoder (engine/Models) trains under Fp16 (dynamic loss scaling, the default): every conv
    /// kernel of its plan, forward and backward, is an f16-storage variant, and SGD lowers its MSE on smooth blobs as
    /// the f32 run of TrainingTests.ConvAutoencoder_LossGoesDown does (both ends at 0.0499 on lavapipe).
    /// </summary>
    [Test]
    public void ConvAutoencoder_TrainsUnderFp16()
    {
        using var compiled = TrainingTests.BlobAutoencoder(Precision.Fp16);
        AssertConvKernelsAreF16(compiled.Plan);
        var losses = TrainingTests.Train(compiled, 20);
        TestContext.Out.WriteLine("fp16 autoencoder MSE: " + string.Join(" ", losses.Select(l => l.ToString("0.00000"))));
        Assert.That(losses, Has.All.Matches<float>(float.IsFinite));
        Assert.That(losses[^1], Is.LessThan(0.8 * losses[0]));
        Assert.That(compiled.StepCount, Is.GreaterThanOrEqualTo(15u), "few steps skipped for overflow of the loss scale");
    }

    /// <summary>
    /// The inpainting UNet (engine/Models: conv, pooling, upsample, concat, an L1 loss) trains under Fp16 with dynamic
    /// loss scaling (the default): every conv kernel of its plan, forward and backward, is an f16-storage variant, and
    /// SGD lowers its loss steadily as the f32 run of TrainingTests.InpaintingUNet_LossGoesDown does.
    /// </summary>
    [Test]
    public void InpaintUNet_TrainsUnderFp16()
    {
        var net = InpaintUNet.BuildForTraining(8, 16, 32);
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 4, 16, 16), ["target"] = new Shape(2, 3, 16, 16) },
            Training = true,
            LearningRate = 5f,
            Seed = 1,
            Precision = Precision.Fp16,
        });
        AssertConvKernelsAreF16(compiled.Plan);
        // Smooth colour patterns with random holes; the mask as a fourth input channel.
        var target = new float[2 * 3 * 256];
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 256; p++)
                    target[(n * 3 + c) * 256 + p] = (float)(0.5 + 0.3 * Math.Sin((p % 16) / 3.0 + c + n) * Math.Cos((p / 16) / 4.0 - c));
        var mask = RandomData.Mask(2 * 256, 12, 0.7).Select(v => (float)v).ToArray();
        var x = new float[2 * 4 * 256];
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 256; p++)
            {
                for (int c = 0; c < 3; c++) x[(n * 4 + c) * 256 + p] = target[(n * 3 + c) * 256 + p] * mask[n * 256 + p];
                x[(n * 4 + 3) * 256 + p] = mask[n * 256 + p];
            }
        compiled.SetInput("x", x);
        compiled.SetInput("target", target);
        var losses = TrainingTests.Train(compiled, 21);
        TestContext.Out.WriteLine("fp16 inpainting UNet L1: " + string.Join(" ", losses.Select(l => l.ToString("0.00000"))));
        Assert.That(losses, Has.All.Matches<float>(float.IsFinite));
        for (int i = 1; i < losses.Count; i++) Assert.That(losses[i], Is.LessThanOrEqualTo(losses[i - 1] + 2e-4f), $"step {i}");
        Assert.That(losses[^1], Is.LessThan(0.99 * losses[0]));
        Assert.That(compiled.StepCount, Is.GreaterThanOrEqualTo(17u), "few steps skipped for overflow of the loss scale");
    }

    /// <summary>
    /// Every conv kernel of a training plan reads and writes f16 activations (the weight flip, parameters only, excepted),
    /// and the plan has each of a conv's passes.
    /// </summary>
    static void AssertConvKernelsAreF16(PlanReport plan)
    {
        var conv = plan.Dispatches
            .Where(d => d.Kernel.StartsWith("conv2d/", StringComparison.Ordinal) || d.Kernel.StartsWith("conv_transpose2d/", StringComparison.Ordinal)).ToList();
        foreach (var pass in new[] { ".fwd", ".bwd_input", ".bwd_weight", ".bwd_bias" })
            Assert.That(conv.Select(d => d.Label), Has.Some.Contains(pass), pass);
        Assert.That(conv.Where(d => !WeightOnly.Contains(d.Kernel)).Select(d => d.Kernel), Has.All.EndWith(".f16"), "no conv kernel on f32 activations");
    }

    /// <summary>Conv kernels that pass over weights or their gradients only (f32 in both precisions): no f16-storage variant.</summary>
    static readonly string[] WeightOnly =
        { "conv2d/conv2d.flip_weight", "conv2d/conv2d.pack_weight_f16", "conv2d/conv2d.winograd_weight", "conv2d/conv2d.subpixel_weight",
          "conv2d/conv2d.subpixel_weight_grad" };

    /// <summary>
    /// Runs the layer (and <paramref name="activation"/> after it, fused) at Fp32 and at Fp16 with the same inputs,
    /// parameters (same seed) and output gradient, and compares everything; the f16 run's conv kernels must all be
    /// f16-storage variants (the weight flip and packing, parameters only, excepted) and include <paramref name="expectKernel"/>.
    /// </summary>
    internal static LayerResult Matches(Layer layer, Shape x, bool texelReads, string[] prefer, string? expectKernel, Layer? activation = null)
    {
        var input = Random(x.Elements, 1);
        var gy = Random(layer.OutputShape(new[] { x }).Elements, 2);
        var f32 = LayerHarness.RunFused(Context, layer, activation, x, input, gy, Precision.Fp32, texelReads, prefer);
        var f16 = LayerHarness.RunFused(Context, layer, activation, x, input, gy, Precision.Fp16, texelReads, prefer);

        var conv = f16.Kernels.Where(k => k.StartsWith("conv2d/", StringComparison.Ordinal) || k.StartsWith("conv_transpose2d/", StringComparison.Ordinal)).ToList();
        Assert.That(conv, Is.Not.Empty);
        foreach (var k in conv)
            Assert.That(k, WeightOnly.Contains(k) ? Does.Not.EndWith(".f16") : Does.EndWith(".f16"), string.Join(", ", f16.Kernels));
        // Texel reads as asked, wherever the kernel has a texel-read variant.
        foreach (var k in conv.Where(k => k.EndsWith(".f16", StringComparison.Ordinal)).Select(k => k[..^".f16".Length]))
            Assert.That(k.Contains(".texel"), Is.EqualTo(texelReads && (k.Contains(".texel") || PipelineStore.HasModule(k + ".texel"))), k);
        if (expectKernel != null) Assert.That(f16.Kernels, Does.Contain(expectKernel));

        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.InputGradients[0], f32.InputGradients[0], Tolerances.F16Storage, "input gradient");
        Assert.That(f16.ParameterGradients.Keys, Is.EquivalentTo(f32.ParameterGradients.Keys));
        foreach (var (name, g) in f32.ParameterGradients) F16StorageCheck.Close(f16.ParameterGradients[name], g, Tolerances.F16Storage, $"gradient of {name}");
        return f16;
    }

    static float[] Forward(GpuContext ctx, Layer layer, Shape xShape, float[] x, Precision precision, bool autotune) =>
        ForwardWithKernels(ctx, layer, xShape, x, precision, autotune).Output;

    static (float[] Output, string[] Kernels) ForwardWithKernels(GpuContext ctx, Layer layer, Shape xShape, float[] x, Precision precision, bool autotune)
    {
        var net = new Network();
        net.Output(net.Add(layer, "layer", net.Input("x")), "y");
        using var compiled = net.Compile(ctx, CompileOptions.For("x", xShape) with
        {
            Precision = precision,
            Autotune = autotune,
            Fuse = false,
            PreferKernels = new[] { nameof(Conv2dTiled) },
            ActivationLayout = TensorLayout.Nchw, // the kernel choices alone, not the layout's
        });
        compiled.SetInput("x", x);
        compiled.Run();
        return (compiled.GetOutput("y"), compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray());
    }

    static float[] Random(long n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }
}
