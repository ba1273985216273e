using Kiln.Layers;
using Kiln.Tests.Graph;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The tensor-core convolutions over channels-last activations: the KHR patch kernel (<see cref="Conv2dCoopMatPatchNhwc"/>,
/// conv2d.fwd_coopmat_patch.nhwc) and the cooperative_matrix2 one (<see cref="Conv2dCoopMat2Nhwc"/>, its .subgroup form
/// here). Each does the same products in the same order as its NCHW kernel, staged from runs of a pixel's channels, so
/// an NHWC plan's output is the NCHW plan's bit for bit: a UNet (the .pool and .concat variants too) and random single
/// layers (channel counts that leave partial units and tiles, so the patch kernel's column-major store of whole tiles and
/// its staged store of edge tiles both run). Needs cooperative matrices (tools/coopmat-lavapipe.sh; the coopmat2 cases
/// Mesa 26's flexible dimensions).
/// </summary>
public sealed class CooperativeMatrixChannelsLastTests : CooperativeMatrixTest
{
    const string Patch = "conv2d/conv2d.fwd_coopmat_patch", CoopMat2 = "conv2d/conv2d.fwd_coopmat2.subgroup";

    /// <summary>The two kernels: their NCHW and NHWC entries and the module both run.</summary>
    static IEnumerable<TestCaseData> Kernels() => new[]
    {
        new TestCaseData(nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMatPatchNhwc), Patch).SetArgDisplayNames("patch"),
        new TestCaseData(nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2).SetArgDisplayNames("coopmat2"),
    };

    static CompileOptions Options(Shape x, params string[] named) => CompileOptions.For("x", x) with { Precision = Precision.Fp16, TexelReads = false, PreferKernels = named };

    /// <summary>The coopmat2 cases need its flexible dimensions, as CooperativeMatrix2ConvTests do: where they are missing
    /// the case fails (tools/coopmat-lavapipe.sh runs these tests on Mesa 26's lavapipe, which has them).</summary>
    static void RequireCoopMat2(string module)
    {
        if (module == CoopMat2 && !CooperativeMatrix2Kernels.Usable(Context.KernelDevice))
            Assert.Fail($"{Context.Info.Name} has no VK_NV_cooperative_matrix2 with flexible dimensions ({string.Join(", ", Context.Info.CooperativeMatrix2Missing)} " +
                        "missing): tools/coopmat-lavapipe.sh test runs these tests on Mesa 26's lavapipe.");
    }

    [TestCaseSource(nameof(Kernels))]
    public void UNet_IsTheNchwPlanBitForBit(string nchwEntry, string nhwcEntry, string module)
    {
        RequireCoopMat2(module);
        var options = Options(ChannelsLastTests.Input, nchwEntry, nhwcEntry);
        var nchw = ChannelsLastTests.Run(ChannelsLastTests.UNet(), ChannelsLastTests.Input, options);
        var nhwc = ChannelsLastTests.Run(ChannelsLastTests.UNet(), ChannelsLastTests.Input, options with { ActivationLayout = TensorLayout.Nhwc });
        var kernels = nhwc.Plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Does.Contain($"{module}.nhwc.f16").And.Contain($"{module}.nhwc.pool.f16").And.Contain($"{module}.nhwc.concat.f16"),
            string.Join(", ", kernels));
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Does.Contain($"{module}.pool.f16"));
        Assert.That(nhwc.Y, Is.EqualTo(nchw.Y), "y, bit for bit");
        Assert.That(nhwc.Bottleneck, Is.EqualTo(nchw.Bottleneck), "the bottleneck, bit for bit");
    }

    /// <summary>Random layers the patch kernel takes (kernel 1 to 5, stride 1 or 2, dilation 2 now and then), fixed seed.</summary>
    static IEnumerable<TestCaseData> Layers()
    {
        var rng = new Random(1128);
        for (int made = 0; made < 8;)
        {
            int k = new[] { 1, 3, 3, 5 }[rng.Next(4)], st = rng.Next(1, 3), d = k <= 3 && rng.Next(4) == 0 ? 2 : 1;
            int p = rng.Next(0, ((k - 1) * d + 1) / 2 + 1);
            int cin = rng.Next(1, 50), cout = made % 2 == 0 ? 8 * rng.Next(2, 9) : rng.Next(16, 70), h = rng.Next(3, 30), w = rng.Next(3, 40), n = rng.Next(1, 3);
            if (h + 2 * p < (k - 1) * d + 1 || w + 2 * p < (k - 1) * d + 1) continue;
            made++;
            foreach (var kernel in Kernels())
                yield return new TestCaseData(new Conv2d(cin, cout, k, st, p, d), new Shape(n, cin, h, w), kernel.Arguments[0], kernel.Arguments[1], kernel.Arguments[2])
                    .SetArgDisplayNames($"{((string)kernel.Arguments[2]! == Patch ? "patch" : "coopmat2")}_n{n}_{cin}to{cout}_{h}x{w}_k{k}s{st}p{p}d{d}");
        }
    }

    /// <summary>
    /// Wide images with Cin a multiple of the reduction step: most of the cooperative_matrix2 kernel's tiles are interior
    /// (one output row, every tap inside the image), where it loads B straight from x; the edge tiles stage it.
    /// </summary>
    static IEnumerable<TestCaseData> WideLayers() => new[]
    {
        new TestCaseData(new Conv2d(16, 32, 3, padding: 1), new Shape(1, 16, 6, 150), nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2)
            .SetArgDisplayNames("coopmat2_interior_3x3"),
        new TestCaseData(new Conv2d(32, 16, 3, stride: 2, padding: 1), new Shape(2, 32, 9, 230), nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2)
            .SetArgDisplayNames("coopmat2_interior_stride2"),
        new TestCaseData(new Conv2d(48, 24, 3, padding: 2, dilation: 2), new Shape(1, 48, 7, 140), nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2)
            .SetArgDisplayNames("coopmat2_interior_dilated"),
        new TestCaseData(new Conv2d(16, 16, 1), new Shape(1, 16, 3, 200), nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2)
            .SetArgDisplayNames("coopmat2_interior_1x1"),
    };

    /// <summary>
    /// The patch kernel's .direct variant (interior tiles load B straight from x) is a tuning candidate only: under
    /// Autotune the tuner runs it beside the patch tiles and rejects any whose result differs from the first candidate's,
    /// so a wrong direct path would show as a rejection. None is rejected, nothing is skipped, the tuned plan's output is
    /// the untuned one's within the f16 tolerance, and the untuned NHWC plan's is the NCHW plan's bit for bit.
    /// </summary>
    [Test]
    public void PatchDirectVariant_AgreesWithThePatchUnderTuning()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-direct-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var log = new List<string>();
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = m => { lock (log) log.Add(m); } });
            var net = new Network();
            net.Output(net.Add(new ReLU(), "relu", net.Add(new Conv2d(32, 32, 3, padding: 1), "conv", net.Input("x"))), "y");
            var x = new Shape(1, 32, 12, 40);
            var data = RandomData.Uniform((int)x.Elements, 5).Select(v => (float)v).ToArray();
            float[] Y(CompileOptions options)
            {
                using var c = net.Compile(ctx, options);
                c.SetInput("x", data);
                c.Run();
                return c.GetOutput("y");
            }
            var tuned = Y(Options(x, nameof(Conv2dCoopMatPatchNhwc)) with { Autotune = true, ActivationLayout = TensorLayout.Nhwc });
            Assert.That(ctx.Tuner.Timed, Is.GreaterThan(0));
            Assert.That(ctx.Tuner.Rejected, Is.Zero, string.Join("\n", log));
            Assert.That(log, Has.None.Contains("skipped"));
            var untunedNhwc = Y(Options(x, nameof(Conv2dCoopMatPatchNhwc)) with { ActivationLayout = TensorLayout.Nhwc });
            var untunedNchw = Y(Options(x, nameof(Conv2dCoopMatPatch)) with { ActivationLayout = TensorLayout.Nchw });
            Assert.That(untunedNhwc, Is.EqualTo(untunedNchw), "untuned");
            // The tuner may keep any candidate (on lavapipe the direct f32 kernel wins): within the f16 tolerance.
            double largest = untunedNchw.Max(v => Math.Abs(v));
            Assert.That(tuned.Zip(untunedNchw, (t, u) => Math.Abs(t - u)).Max(), Is.LessThanOrEqualTo(Tolerances.F16Storage * largest));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestCaseSource(nameof(WideLayers))]
    [TestCaseSource(nameof(Layers))]
    public void Layer_IsTheNchwPlanBitForBit(Conv2d conv, Shape x, string nchwEntry, string nhwcEntry, string module)
    {
        RequireCoopMat2(module);
        var net = new Network();
        net.Output(net.Add(new ReLU(), "relu", net.Add(conv, "conv", net.Input("x"))), "y");
        var nchw = ChannelsLastTests.Run(net, x, Options(x, nchwEntry, nhwcEntry));
        var nhwc = ChannelsLastTests.Run(net, x, Options(x, nchwEntry, nhwcEntry) with { ActivationLayout = TensorLayout.Nhwc });
        Assert.That(nhwc.Plan.Dispatches.Select(d => d.Kernel), Does.Contain($"{module}.nhwc.f16"));
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Does.Contain($"{module}.f16"));
        Assert.That(nhwc.Y, Is.EqualTo(nchw.Y), "bit for bit");
        Assert.That(nchw.Y.Count(v => v != 0), Is.GreaterThan(nchw.Y.Length / 4), "a real output");
    }

    /// <summary>
    /// A channels-last training step of two stacked convolutions, a ReLU between them, on the tensor cores: the weight
    /// gradients by the patch kernel's NHWC form (<see cref="Conv2dWeightGradCoopMatPatchNhwc"/>, its .bias variant
    /// writing the bias gradient), the input gradients by the flipped weight on the NHWC forward of the family named (the
    /// second's through the ReLU's derivative, its .nhwc.dact variant). Every gradient is the NCHW step's (the same
    /// family's NCHW kernels) bit for bit: the same products and sums in the same order. The input's channels leave a
    /// partial unit of 8, the outputs' partial tiles; the pixels partial tiles.
    /// </summary>
    [TestCase(5, 24, nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMatPatchNhwc), Patch)]
    [TestCase(16, 40, nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMatPatchNhwc), Patch)]
    [TestCase(16, 40, nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), CoopMat2)]
    public void Training_IsTheNchwStepBitForBit(int cin, int c, string nchwEntry, string nhwcEntry, string module)
    {
        RequireCoopMat2(module);
        var x = new Shape(2, cin, 13, 21);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(cin, c, 3, padding: 1), "a", net.Input("x")));
        var y = net.Add(new Conv2d(c, c, 3, padding: 1), "b", h);
        var (nchw, nhwc) = TrainBothLayouts(net, y, x, new(2, c, 13, 21), 40, subPixel: false,
            nchwEntry, nhwcEntry, nameof(Conv2dInputGradFlipped), nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatchNhwc));
        Assert.That(nhwc.BackwardKernels, Does.Contain("conv2d/conv2d.bwd_weight_coopmat_patch.nhwc.bias.f16")
            .And.Contain($"{module}.nhwc.dact.f16"), string.Join(", ", nhwc.BackwardKernels));
        Assert.That(nchw.BackwardKernels, Does.Contain("conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16").And.Contain($"{module}.dact.f16"));
        AssertBitForBitAndReal(nhwc, nchw);
    }

    /// <summary>
    /// The cooperative_matrix2 weight gradient channels-last (<see cref="Conv2dWeightGradCoopMat2Nhwc"/>, its .bias form
    /// writing the bias gradient; on Mesa 26 the .subgroup form): the step of two stacked convolutions on the
    /// cooperative_matrix2 forwards is the NCHW one's bit for bit, the output channels leaving partial tiles.
    /// </summary>
    [Test]
    public void Training_OnTheCoopMat2WeightGradient_IsTheNchwStepBitForBit()
    {
        RequireCoopMat2(CoopMat2);
        var x = new Shape(2, 16, 13, 21);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 40, 3, padding: 1), "a", net.Input("x")));
        var y = net.Add(new Conv2d(40, 24, 3, stride: 2, padding: 1), "b", h);
        var (nchw, nhwc) = TrainBothLayouts(net, y, x, new(2, 24, 7, 11), 90, subPixel: false,
            nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), nameof(Conv2dInputGradFlipped),
            nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dWeightGradCoopMat2Nhwc));
        const string Grad = "conv2d/conv2d.bwd_weight_coopmat2.subgroup";
        foreach (var conv in new[] { "a", "b" })
        {
            Assert.That(nhwc.KernelOf($"{conv}.bwd_weight"), Is.EqualTo($"{Grad}.nhwc.bias.f16"), conv);
            Assert.That(nchw.KernelOf($"{conv}.bwd_weight"), Is.EqualTo($"{Grad}.bias.f16"), conv);
        }
        AssertBitForBitAndReal(nhwc, nchw);
    }

    /// <summary>
    /// One fp16 training step of <paramref name="net"/> (output <paramref name="y"/>, a DotLoss against grad_y, so dY is
    /// grad_y) in each layout, on storage buffers with the entries named: the same parameters and inputs from
    /// <paramref name="seed"/>.
    /// </summary>
    static (ChannelsLastTests.TrainingStep Nchw, ChannelsLastTests.TrainingStep Nhwc) TrainBothLayouts(Network net, Node y, Shape x, Shape gradY,
        int seed, bool subPixel, params string[] prefer)
    {
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["grad_y"] = gradY },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, LossScaling = LossScaling.Off,
            Precision = Precision.Fp16, TexelReads = false, SubPixelDecoders = subPixel, PreferKernels = prefer,
        };
        return (ChannelsLastTests.Train(Context, net, options, seed), ChannelsLastTests.Train(Context, net, options with { ActivationLayout = TensorLayout.Nhwc }, seed));
    }

    /// <summary>The NHWC step is the NCHW one's bit for bit, every parameter's gradient mostly non-zero, the validation layer silent.</summary>
    static void AssertBitForBitAndReal(ChannelsLastTests.TrainingStep nhwc, ChannelsLastTests.TrainingStep nchw)
    {
        ChannelsLastTests.AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Count(v => v != 0), Is.GreaterThan(g.Length / 2), $"{name}'s gradient is real");
        Assert.That(Context.TakeValidationMessages(), Is.Empty);
    }

    /// <summary>
    /// Strided layers channels-last on the tensor cores, by output phase (<see cref="Conv2dInputGradCoopMatStridedNhwc"/>):
    /// a dilated stride-2 convolution's input gradient through the ReLU before it (its one phase with taps on the
    /// .nhwc.dact patch kernel, the other three zero), a 3x3 stride-2 transposed convolution's forward (every phase in one
    /// .nhwc.phases dispatch, each run as the largest phase's 2x2 taps), and one whose 1x1 kernel leaves three of its four
    /// phases to the bias (conv2d.phase_fill.nhwc). Every gradient is the NCHW step's (the phases on the NCHW patch
    /// kernel) bit for bit.
    /// </summary>
    [Test]
    public void StridedTraining_ByPhase_IsTheNchwStepBitForBit()
    {
        RequireCoopMat2(Patch);
        var x = new Shape(2, 16, 13, 21);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 24, 3, padding: 1), "a", net.Input("x")));
        var down = net.Add(new ReLU(), "relu_down", net.Add(new Conv2d(24, 24, 3, stride: 2, padding: 2, dilation: 2), "down", h));
        var up = net.Add(new ConvTranspose2d(24, 16, 3, stride: 2, padding: 1, outputPadding: 1), "up", down);
        var y = net.Add(new ConvTranspose2d(16, 16, 1, stride: 2), "spread", up);
        var (nchw, nhwc) = TrainBothLayouts(net, y, x, new(2, 16, 27, 43), 60, subPixel: false,
            nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMatPatchNhwc), nameof(Conv2dInputGradFlipped),
            nameof(Conv2dInputGradCoopMatStrided), nameof(Conv2dInputGradCoopMatStridedNhwc));
        string Kernels(ChannelsLastTests.TrainingStep step, string label) => string.Join(", ",
            step.Plan.Dispatches.Where(d => d.Label.StartsWith(label, StringComparison.Ordinal) && !d.Label.EndsWith(".pack", StringComparison.Ordinal))
                .Select(d => d.Kernel).Distinct().Order(StringComparer.Ordinal));
        Assert.That(Kernels(nhwc, "down.bwd_input.phase"), Is.EqualTo($"{Patch}.nhwc.dact.f16, conv2d/conv2d.phase_fill.nhwc.f16"));
        Assert.That(Kernels(nchw, "down.bwd_input.phase"), Is.EqualTo($"{Patch}.dact.f16, conv2d/conv2d.phase_fill.f16"));
        Assert.That(Kernels(nhwc, "up.fwd"), Is.EqualTo($"{Patch}.nhwc.phases.f16"));
        Assert.That(Kernels(nhwc, "spread.fwd.phase"), Is.EqualTo($"{Patch}.nhwc.f16, conv2d/conv2d.phase_fill.nhwc.f16"));
        Assert.That(nhwc.Transposes, Has.Count.EqualTo(5),
            "x in, y out (f32 for the caller, f16 for the loss), the loss's gradient in, x's gradient out: " + string.Join(", ", nhwc.Transposes));
        AssertBitForBitAndReal(nhwc, nchw);
    }

    /// <summary>
    /// Strided layers whose phases all have the same taps (4x4 kernels of stride 2, as the autoencoder's) channels-last:
    /// a convolution's input gradient through the ReLU before it and a transposed convolution's forward, each in one
    /// dispatch of the kernel's .nhwc.phases (.dact) variant, every phase in the workgroups' z; odd sizes, so that the
    /// phases' grids differ (13 rows: 7 and 6). Every gradient is the NCHW step's (its .phases dispatches) bit for bit.
    /// </summary>
    [TestCaseSource(nameof(Kernels))]
    public void StridedTraining_AllPhasesInOneDispatch_IsTheNchwStepBitForBit(string nchwEntry, string nhwcEntry, string module)
    {
        RequireCoopMat2(module);
        var x = new Shape(2, 16, 13, 11);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 24, 3, padding: 1), "a", net.Input("x")));
        var down = net.Add(new ReLU(), "relu_down", net.Add(new Conv2d(24, 32, 4, stride: 2, padding: 1), "down", h));
        var y = net.Add(new ConvTranspose2d(32, 16, 4, stride: 2, padding: 1), "up", down);
        var (nchw, nhwc) = TrainBothLayouts(net, y, x, new(2, 16, 12, 10), 61, subPixel: false,
            nchwEntry, nhwcEntry, nameof(Conv2dInputGradFlipped), nameof(Conv2dInputGradCoopMatStrided), nameof(Conv2dInputGradCoopMatStridedNhwc));
        string Kernel(ChannelsLastTests.TrainingStep step, string label) => step.Plan.Dispatches.Single(d => d.Label == label).Kernel;
        Assert.That(Kernel(nhwc, "down.bwd_input"), Is.EqualTo($"{module}.nhwc.phases.dact.f16"));
        Assert.That(Kernel(nchw, "down.bwd_input"), Is.EqualTo($"{module}.phases.dact.f16"));
        Assert.That(Kernel(nhwc, "up.fwd"), Is.EqualTo($"{module}.nhwc.phases.f16"));
        Assert.That(nhwc.Plan.Dispatches.Select(d => d.Label), Has.None.Contains(".phase"), "no dispatch of a single phase");
        AssertBitForBitAndReal(nhwc, nchw);
    }

    /// <summary>
    /// A decoder's gradients by sub-pixel phase channels-last on the tensor cores: the upsampled input's part as a stride-2
    /// 4x4 convolution at its own resolution (the NHWC patch kernel through the ReLU before it, .nhwc.dact), the skip's
    /// part apart, their weight gradients on the NHWC patch weight gradient. Every gradient is the NCHW step's bit for bit.
    /// </summary>
    [Test]
    public void SubPixelDecoderTraining_IsTheNchwStepBitForBit()
    {
        RequireCoopMat2(Patch);
        var x = new Shape(2, 16, 16, 20);
        var net = new Network();
        var skip = net.Add(new ReLU(), "relu_skip", net.Add(new Conv2d(16, 16, 3, padding: 1), "skip", net.Input("x")));
        var low = net.Add(new ReLU(), "relu_low", net.Add(new Conv2d(16, 16, 3, padding: 1), "low", net.Add(new MaxPool2d(2), "pool", skip)));
        var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up", low), skip);
        var y = net.Add(new Conv2d(32, 24, 3, padding: 1), "dec", cat);
        var (nchw, nhwc) = TrainBothLayouts(net, y, x, new(2, 24, 16, 20), 80, subPixel: true,
            nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMatPatchNhwc), nameof(Conv2dInputGradFlipped),
            nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatchNhwc));
        Assert.That(nhwc.KernelOf("dec.bwd_input.low"), Is.EqualTo($"{Patch}.nhwc.dact.f16"));
        Assert.That(nchw.KernelOf("dec.bwd_input.low"), Is.EqualTo($"{Patch}.dact.f16"));
        Assert.That(nhwc.KernelOf("dec.bwd_input.skip"), Does.StartWith($"{Patch}.nhwc"));
        Assert.That(nhwc.KernelOf("dec.bwd_weight.low"), Does.StartWith("conv2d/conv2d.bwd_weight_coopmat_patch.nhwc"));
        Assert.That(nhwc.KernelOf("dec.bwd_weight.skip"), Does.StartWith("conv2d/conv2d.bwd_weight_coopmat_patch.nhwc"));
        AssertBitForBitAndReal(nhwc, nchw);
    }
}
