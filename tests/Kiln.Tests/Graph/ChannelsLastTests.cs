using Kiln.Graph;
using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// Channels-last plans (CompileOptions.ActivationLayout Nhwc): a UNet's output is the NCHW plan's bit for bit
/// (the NHWC kernels do the same sums in the same order per element, and pooling, upsampling and concatenation only move
/// or compare values), fused and unfused, through storage buffers (the .pool and .concat variants) and texel reads, f32
/// and f16, in row bands; the layers around a layer without an NHWC forward transpose once each way; outputs and
/// inputs stay NCHW; a training step is the NCHW step's bit for bit (its loss, summed in NHWC order, within 1e-6); and a
/// kernel that indexes NCHW never binds an NHWC value.
/// </summary>
public sealed class ChannelsLastTests : GpuTest
{
    /// <summary>
    /// A small UNet: conv + ReLU (the skip), conv + ReLU + 2x2 max pool (fused into one layer), conv, batch norm (running
    /// statistics), nearest upsample, skip concat, conv + LeakyReLU (the upsample and concat fused into its reads), a
    /// bilinear upsample from the bottleneck added to it, average pool, conv, sigmoid; a second output at the bottleneck.
    /// </summary>
    internal static Network UNet()
    {
        var net = new Network();
        var x = net.Input("x");
        var e1 = net.Add(new ReLU(), "relu0", net.Add(new Conv2d(5, 16, 3, padding: 1), "enc", x));
        var down = net.Add(new ReLU(), "relu_down", net.Add(new Conv2d(16, 16, 3, padding: 1), "down", e1));
        var p = net.Add(new MaxPool2d(2), "pool", down);
        var mid = net.Add(new BatchNorm2d(24), "bn", net.Add(new ReLU(), "relu1", net.Add(new Conv2d(16, 24, 3, padding: 1), "mid", p)));
        var up = net.Add(new Upsample(2), "up", mid);
        var cat = net.Add(new Concat(), "cat", up, e1);
        var dec = net.Add(new LeakyReLU(0.1f), "leaky", net.Add(new Conv2d(40, 16, 3, padding: 1), "dec", cat));
        var side = net.Add(new Conv2d(24, 16, 1), "side", mid);
        var sum = net.Add(new Add(), "sum", dec, net.Add(new Upsample(2, UpsampleMode.Bilinear), "up_bilinear", side));
        var head = net.Add(new Conv2d(16, 3, 3, padding: 1), "head", net.Add(new AvgPool2d(2), "avg", sum));
        net.Output(net.Add(new Sigmoid(), "sigmoid", head), "y");
        net.Output(mid, "bottleneck");
        return net;
    }

    internal static readonly Shape Input = new(2, 5, 16, 12);

    /// <summary>The network compiled with <paramref name="options"/>, every parameter drawn at random (a running variance
    /// in [0.5, 1.5)) so that each channel's differ, run on a random x: its outputs and plan.</summary>
    internal static (float[] Y, float[] Bottleneck, PlanReport Plan) Run(Network net, Shape x, CompileOptions options)
    {
        using var c = net.Compile(Context, options);
        int seed = 300;
        foreach (var (name, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, name.EndsWith("running_var") ? 0.5 : -0.5, name.EndsWith("running_var") ? 1.5 : 0.5)
                .Select(v => (float)v).ToArray());
        c.SetInput("x", RandomData.Uniform((int)x.Elements, 23).Select(v => (float)v).ToArray());
        c.Run();
        return (c.GetOutput("y"), net.Outputs.Any(o => o.Name == "bottleneck") ? c.GetOutput("bottleneck") : Array.Empty<float>(), c.Plan);
    }

    static IEnumerable<TestCaseData> Variants() => new[]
    {
        new TestCaseData(Precision.Fp32, true, null).SetArgDisplayNames("fp32_fused_texel"),
        new TestCaseData(Precision.Fp32, true, false).SetArgDisplayNames("fp32_fused_storage"),
        new TestCaseData(Precision.Fp32, false, false).SetArgDisplayNames("fp32_unfused"),
        new TestCaseData(Precision.Fp16, true, false).SetArgDisplayNames("fp16_fused_storage"),
        new TestCaseData(Precision.Fp16, true, null).SetArgDisplayNames("fp16_fused_texel"),
    };

    [TestCaseSource(nameof(Variants))]
    public void UNet_IsTheNchwPlanBitForBit(Precision precision, bool fuse, bool? texelReads)
    {
        var options = CompileOptions.For("x", Input) with { Precision = precision, Fuse = fuse, TexelReads = texelReads };
        var nchw = Run(UNet(), Input, options);
        var nhwc = Run(UNet(), Input, options with { ActivationLayout = TensorLayout.Nhwc });

        var kernels = nhwc.Plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/", StringComparison.Ordinal) && !d.Kernel.Contains("pack")).ToList();
        Assert.That(kernels, Is.Not.Empty);
        Assert.That(kernels.Select(d => d.Kernel), Has.All.Contains(".nhwc"), "every convolution runs an NHWC kernel");
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.None.Contains(".nhwc"));
        Assert.That(nhwc.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/pool.fwd.nhwc").And.Some.StartsWith("upsample/upsample.fwd.nhwc"),
            "the average pool and the bilinear upsample run their NHWC variants");
        if (fuse && texelReads == false)
            Assert.That(kernels.Select(d => d.Kernel), Has.Some.StartsWith("conv2d/conv2d.fwd.nhwc.pool").And.Some.StartsWith("conv2d/conv2d.fwd.nhwc.concat"),
                "the fused pool and concat reads");
        // In: x once. Out: y and the bottleneck, each once. Nothing else in the UNet lacks an NHWC forward.
        var labels = nhwc.Plan.Dispatches.Select(d => d.Label).ToList();
        Assert.That(labels.Count(l => l.EndsWith(".to_nhwc", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(", ", labels));
        Assert.That(labels.Count(l => l.EndsWith(".to_nchw", StringComparison.Ordinal)), Is.EqualTo(2), string.Join(", ", labels));
        // Each edge is one pass, the f32/f16 conversion folded into the transpose.
        Assert.That(labels, Has.None.EndsWith(".to_f16").And.None.EndsWith(".to_f32"));
        string edge = precision == Precision.Fp16 ? "transpose/layout.to_storage.f16" : "transpose/layout";
        Assert.That(nhwc.Plan.Dispatches.Single(d => d.Label == "x.to_nhwc").Kernel, Is.EqualTo(edge));

        Assert.That(nhwc.Y, Is.EqualTo(nchw.Y), "y, bit for bit");
        Assert.That(nhwc.Bottleneck, Is.EqualTo(nchw.Bottleneck), "the bottleneck output, bit for bit");
        Assert.That(nchw.Y.Distinct().Count(), Is.GreaterThan(nchw.Y.Length / 4), "a real output, not a constant");
    }

    /// <summary>
    /// The UNet on the Winograd forward (named), channels-last: its .nhwc form and the fused pool's and concat reads'
    /// (.nhwc.pool, .nhwc.concat); the output is the NCHW plan's bit for bit.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void UNet_OnWinograd_IsTheNchwPlanBitForBit(Precision precision)
    {
        var options = CompileOptions.For("x", Input) with
        {
            Precision = precision, TexelReads = false, PreferKernels = new[] { nameof(Conv2dWinograd), nameof(Conv2dWinogradNhwc) },
        };
        var nchw = Run(UNet(), Input, options);
        var nhwc = Run(UNet(), Input, options with { ActivationLayout = TensorLayout.Nhwc });
        Assert.That(nhwc.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("conv2d/conv2d.fwd_winograd.nhwc.pool")
            .And.Some.StartsWith("conv2d/conv2d.fwd_winograd.nhwc.concat"));
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("conv2d/conv2d.fwd_winograd.pool"));
        Assert.That(nhwc.Y, Is.EqualTo(nchw.Y), "y, bit for bit");
        Assert.That(nhwc.Bottleneck, Is.EqualTo(nchw.Bottleneck), "the bottleneck output, bit for bit");
    }

    /// <summary>The denoiser's last pair of full-resolution convolutions in row bands: NHWC bands copy whole rows of pixels.</summary>
    [Test]
    public void RowBands_AreTheUnbandedNchwPlanBitForBit()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(6, 16, 3, padding: 1), "first", net.Input("x")));
        net.Output(net.Add(new Conv2d(16, 3, 3, padding: 1), "second", h), "y");
        var x = new Shape(1, 6, 37, 11);
        var options = CompileOptions.For("x", x) with { TexelReads = false };
        var plain = Run(net, x, options with { RowBands = 0 });
        var banded = Run(net, x, options with { RowBands = 4, ActivationLayout = TensorLayout.Nhwc });
        Assert.That(banded.Plan.Dispatches.Count(d => d.Label.EndsWith(".out", StringComparison.Ordinal)), Is.EqualTo(4));
        Assert.That(banded.Plan.Dispatches.Where(d => d.Label.Contains(".band")).Select(d => d.Kernel),
            Has.All.Contains(".nhwc").Or.Contains("concat.copy"));
        Assert.That(banded.Y, Is.EqualTo(plain.Y), "bit for bit");
    }

    /// <summary>
    /// A layer without an NHWC forward (padding, a softmax, a broadcast multiply) reads an NCHW transpose of its
    /// input, made once however many such readers; the layers after it go back to NHWC.
    /// </summary>
    [Test]
    public void LayersWithoutNhwc_ReadATransposeMadeOnce()
    {
        var net = new Network();
        var x = net.Input("x");
        var a = net.Add(new ReLU(), "relu", net.Add(new Conv2d(4, 8, 3, padding: 1), "conv", x));
        var soft = net.Add(new Softmax(), "softmax", a);
        var padded = net.Add(new Pad(1, 1, 1, 1), "pad", a);
        var back = net.Add(new Conv2d(8, 8, 3), "valid", padded);
        var sum = net.Add(new Add(), "sum", soft, back);
        var scaled = net.Add(new Mul(), "scale", sum, net.Input("gain"));
        net.Output(net.Add(new Conv2d(8, 2, 1), "out", scaled), "y");
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, 4, 10, 14), ["gain"] = new(1, 8, 1, 1) };
        float[] Y(TensorLayout layout)
        {
            using var c = net.Compile(Context, new CompileOptions { InputShapes = shapes, ActivationLayout = layout });
            c.SetInput("x", RandomData.Uniform(4 * 10 * 14, 5).Select(v => (float)v).ToArray());
            c.SetInput("gain", RandomData.Uniform(8, 6).Select(v => (float)v).ToArray());
            c.Run();
            if (layout == TensorLayout.Nhwc)
            {
                var labels = c.Plan.Dispatches.Select(d => d.Label).ToList();
                // The ReLU is folded into the conv: its output is the conv's.
                Assert.That(labels.Count(l => l.EndsWith(".to_nchw", StringComparison.Ordinal) && l.StartsWith("conv", StringComparison.Ordinal)), Is.EqualTo(1),
                    "the softmax and the padding share one transpose: " + string.Join(", ", labels));
                Assert.That(labels, Does.Contain("pad.to_nhwc"), "the conv after the padding runs NHWC");
                Assert.That(labels, Does.Contain("sum.to_nchw"), "the broadcast multiply reads NCHW");
            }
            return c.GetOutput("y");
        }
        Assert.That(Y(TensorLayout.Nhwc), Is.EqualTo(Y(TensorLayout.Nchw)), "bit for bit");
    }

    /// <summary>
    /// Left to the compile (ActivationLayout null) with tuned kernels, an inference plan is timed in both layouts once:
    /// the choice is remembered with the tuning choices (a second compile times nothing) and either way the output is the
    /// NCHW plan's. Untuned, or without 4-D activations: NCHW.
    /// </summary>
    [Test]
    public void Automatic_TimesBothLayoutsOnce()
    {
        var tuned = CompileOptions.For("x", Input) with { Autotune = true };
        var x = RandomData.Uniform((int)Input.Elements, 23).Select(v => (float)v).ToArray();
        float[] Y(CompiledNetwork c)
        {
            c.SetInput("x", x);
            c.Run();
            return c.GetOutput("y");
        }
        using var first = UNet().Compile(Context, tuned);
        int timed = Context.Tuner.Timed;
        using var second = UNet().Compile(Context, tuned);
        Assert.That(Context.Tuner.Timed, Is.EqualTo(timed), "the second compile recalls the layout and every kernel");
        Assert.That(second.ActivationLayout, Is.EqualTo(first.ActivationLayout));
        Assert.That(first.Plan.Dispatches.Any(d => d.Kernel.Contains(".nhwc")), Is.EqualTo(first.ActivationLayout == TensorLayout.Nhwc));
        using var plain = UNet().Compile(Context, CompileOptions.For("x", Input));
        Assert.That(plain.ActivationLayout, Is.EqualTo(TensorLayout.Nchw), "untuned");
        Assert.That(Y(first), Is.EqualTo(Y(plain)), "bit for bit");

        var mlp = new Network();
        mlp.Output(mlp.Add(new Linear(4, 8), "fc", mlp.Input("x")), "y");
        using var flat = mlp.Compile(Context, CompileOptions.For("x", new Shape(16, 4)) with { Autotune = true });
        Assert.That(flat.ActivationLayout, Is.EqualTo(TensorLayout.Nchw), "no 4-D activations");
    }

    /// <summary>Where neither layout's plan fits the memory limit, the automatic choice fails as the compile would: a clear
    /// out-of-memory error, the context usable after it.</summary>
    [Test]
    public void Automatic_WhereNothingFits_IsAnOutOfMemoryError()
    {
        using var ctx = GpuContext.Create(Gpu.Options with { MemoryLimitBytes = 2 << 20, PipelineCacheDirectory = "" });
        var big = new Shape(2, 5, 64, 64);
        var e = Assert.Throws<GpuOutOfMemoryException>(() => UNet().Compile(ctx, CompileOptions.For("x", big) with { Autotune = true }));
        Assert.That(e!.Message, Does.Contain("memory limit"));
        using var small = UNet().Compile(ctx, CompileOptions.For("x", Input));
        small.SetInput("x", new float[Input.Elements]);
        small.Run();
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }

    /// <summary>
    /// A small UNet with a loss, for training: conv + ReLU (the skip), a strided conv, conv + ReLU, max
    /// pool, conv, batch norm (batch statistics), nearest upsample, skip concat, conv + LeakyReLU, a 1x1 side conv added
    /// to it, a multiply by a second input, conv, sigmoid, MSE against a target.
    /// </summary>
    static Network TrainingUNet()
    {
        var net = new Network();
        var x = net.Input("x");
        var e1 = net.Add(new ReLU(), "relu0", net.Add(new Conv2d(5, 16, 3, padding: 1), "enc", x));
        var down = net.Add(new ReLU(), "relu_down", net.Add(new Conv2d(16, 16, 3, stride: 2, padding: 1), "down", e1));
        var mid = net.Add(new BatchNorm2d(24), "bn", net.Add(new Conv2d(16, 24, 3, padding: 1), "mid", down));
        var up = net.Add(new Upsample(2), "up", net.Add(new MaxPool2d(2), "pool", net.Add(new Conv2d(24, 24, 3, padding: 1), "deep", mid)));
        var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up2", up), e1);
        var dec = net.Add(new LeakyReLU(0.1f), "leaky", net.Add(new Conv2d(40, 16, 3, padding: 1), "dec", cat));
        var sum = net.Add(new Add(), "sum", dec, net.Add(new Conv2d(16, 16, 1), "side", e1));
        var gated = net.Add(new Mul(), "gate", sum, net.Add(new Conv2d(5, 16, 3, padding: 2, dilation: 2), "gate_conv", x));
        var y = net.Add(new Sigmoid(), "sigmoid", net.Add(new Conv2d(16, 3, 3, padding: 1), "head", gated));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        return net;
    }

    static readonly Shape TrainInput = new(2, 5, 16, 12);

    /// <summary>What a training step left: the loss, every parameter's gradient, x's gradient and the plan.</summary>
    internal sealed record TrainingStep(float Loss, Dictionary<string, float[]> Grads, float[] InputGrad, PlanReport Plan)
    {
        public List<string> BackwardKernels => Plan.Dispatches.Where(d => d.Phase == "backward").Select(d => d.Kernel).ToList();

        /// <summary>The kernel of the one dispatch labelled <paramref name="label"/>; else a failure listing the plan.</summary>
        public string KernelOf(string label) => Plan.Dispatches.Where(d => d.Label == label).ToList() is [var only] ? only.Kernel
            : throw new AssertionException($"no single dispatch {label}: {string.Join(", ", Plan.Dispatches.Select(d => $"{d.Label} {d.Kernel}"))}");

        /// <summary>The labels of the plan's layout transposes (transpose/layout and its variants).</summary>
        public List<string> Transposes => Plan.Dispatches.Where(d => d.Kernel.StartsWith("transpose/", StringComparison.Ordinal)).Select(d => d.Label).ToList();
    }

    /// <summary>
    /// One step of <paramref name="net"/> compiled with <paramref name="options"/> (a training plan keeping x's gradient):
    /// the parameters drawn from <paramref name="seed"/> on in name order (a running variance in [0.5, 1.5), the rest in
    /// [-0.5, 0.5)), then each input in name order from the next seeds.
    /// </summary>
    internal static TrainingStep Train(GpuContext context, Network net, CompileOptions options, int seed)
    {
        using var c = net.Compile(context, options);
        foreach (var (name, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, name.EndsWith("running_var") ? 0.5 : -0.5, name.EndsWith("running_var") ? 1.5 : 0.5)
                .Select(v => (float)v).ToArray());
        foreach (var (name, shape) in options.InputShapes.OrderBy(i => i.Key, StringComparer.Ordinal))
            c.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++).Select(v => (float)v).ToArray());
        c.Run();
        return new(c.GetOutput("loss")[0], c.Gradients.ToDictionary(g => g.Key, g => g.Value.ToArray()), c.InputGradients["x"].ToArray(), c.Plan);
    }

    /// <summary>The channels-last step's parameter gradients and x's gradient are the NCHW step's bit for bit, its loss
    /// within 1e-6 of it (an MSE or L1 loss runs NHWC too: the same terms, summed in the elements' NHWC order).</summary>
    internal static void AssertBitForBit(TrainingStep nhwc, TrainingStep nchw)
    {
        Assert.That(nhwc.Loss, Is.EqualTo(nchw.Loss).Within(1e-6 * Math.Abs(nchw.Loss)), "the loss");
        Assert.That(nhwc.Grads.Keys, Is.EquivalentTo(nchw.Grads.Keys));
        foreach (var (name, g) in nchw.Grads) Assert.That(nhwc.Grads[name], Is.EqualTo(g), $"{name}'s gradient, bit for bit");
        Assert.That(nhwc.InputGrad, Is.EqualTo(nchw.InputGrad), "x's gradient, bit for bit");
    }

    /// <summary>
    /// A channels-last training step: each convolution's gradient runs NHWC (dX by the flipped weight on the NHWC forward
    /// kernel, the strided one's by the gather's .nhwc variant, dW and db by their .nhwc kernels), the activations', the
    /// sum's and the product's gradients are elementwise in NHWC, batch norm, pooling, upsampling and the decoder's fused
    /// upsample + concat + conv (through its concatenation, or by sub-pixel phase) have NHWC forms, and the MSE loss reads
    /// the NHWC prediction and an NHWC target and writes an NHWC gradient. Every parameter's gradient and x's are the NCHW
    /// step's bit for bit (the loss within 1e-6: <see cref="AssertBitForBit"/>) where that step takes its gradients the same way (the flipped-weight entry named, the decoder's gradients the
    /// same way in both plans: the same sums in the same order), f32 and f16, through texel reads (lavapipe's default) and
    /// storage buffers.
    /// </summary>
    [TestCase(Precision.Fp32, null, false)]
    [TestCase(Precision.Fp16, null, false)]
    [TestCase(Precision.Fp32, false, false)]
    [TestCase(Precision.Fp32, null, true)]
    [TestCase(Precision.Fp16, false, true)]
    public void Training_IsTheNchwStepBitForBit(Precision precision, bool? texelReads, bool subPixel)
    {
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = TrainInput, ["t"] = new(2, 3, 16, 12) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, Precision = precision,
            // Through storage buffers the GPU's bias gradient too (its tree reduction), in both layouts.
            PreferKernels = texelReads == false
                ? new[] { nameof(Conv2dInputGradFlipped), nameof(Conv2dBiasGradTree), nameof(Conv2dBiasGradTreeNhwc) }
                : new[] { nameof(Conv2dInputGradFlipped) },
            TexelReads = texelReads, SubPixelDecoders = subPixel,
        };
        var nchw = Train(Context, TrainingUNet(), options, 700);
        var nhwc = Train(Context, TrainingUNet(), options with { ActivationLayout = TensorLayout.Nhwc }, 700);

        var backward = nhwc.Plan.Dispatches.Where(d => d.Phase == "backward").ToList();
        // The decoder's gradients: through its concatenation, or by sub-pixel phase (the upsampled input's part as a
        // stride-2 4x4 convolution at its own resolution, the skip's part apart, then the weight's parts folded).
        var decoder = subPixel ? new[] { "dec.bwd_weight.low", "dec.bwd_weight.skip" } : new[] { "dec.bwd_weight" };
        foreach (var label in new[] { "enc", "down", "mid", "deep", "side", "gate_conv", "head" }.Select(c => $"{c}.bwd_weight").Concat(decoder))
            Assert.That(nhwc.KernelOf(label), Does.StartWith("conv2d/conv2d.bwd_weight.nhwc"), label);
        foreach (var conv in new[] { "enc", "down", "mid", "deep", "dec", "side", "gate_conv", "head" })
            Assert.That(nhwc.KernelOf($"{conv}.bwd_bias"), Does.StartWith(texelReads == false ? "conv2d/conv2d.bwd_bias_tree.nhwc" : "conv2d/conv2d.bwd_bias.nhwc"), conv);
        var inputGrads = subPixel ? new[] { "dec.bwd_input.low", "dec.bwd_input.skip" } : new[] { "dec.bwd_input" };
        foreach (var label in new[] { "enc", "mid", "deep", "side", "gate_conv", "head" }.Select(c => $"{c}.bwd_input").Concat(inputGrads))
            Assert.That(nhwc.KernelOf(label), Does.StartWith("conv2d/conv2d.fwd.nhwc"), label);
        Assert.That(nhwc.KernelOf("down.bwd_input"), Does.StartWith("conv_transpose2d/conv_transpose2d.fwd.nhwc"), "the strided conv's input gradient, gathered");
        foreach (var step in new[] { nhwc, nchw })
            Assert.That(step.Plan.Dispatches.Any(d => d.Label == "dec.bwd_weight.fold"), Is.EqualTo(subPixel), "sub-pixel decoder gradients in both plans or neither");
        Assert.That(nhwc.KernelOf("bn.bwd"), Does.StartWith("batchnorm/batchnorm.bwd_apply.nhwc"));
        Assert.That(nhwc.KernelOf("pool.bwd"), Does.StartWith("pool/pool.bwd.nhwc"));
        Assert.That(nhwc.KernelOf("up.bwd"), Does.StartWith("upsample/upsample.bwd.nhwc"));
        Assert.That(backward.Where(d => d.Label.StartsWith("gate.bwd", StringComparison.Ordinal)).Select(d => d.Kernel),
            Has.All.StartWith("binary/binary.bwd"));
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.None.Contains(".nhwc"));

        AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Any(v => v != 0), Is.True, $"{name}'s gradient is not all zero");
        Assert.That(nchw.InputGrad.Distinct().Count(), Is.GreaterThan(nchw.InputGrad.Length / 4), "a real gradient");
    }

    /// <summary>
    /// An autoencoder of strided and transposed convolutions, for training: a stride-2 conv + ReLU, a grouped stride-2 conv
    /// + ReLU, a transposed conv of stride 2 with output padding + ReLU, a stride-1 transposed conv, sigmoid, MSE.
    /// </summary>
    static Network StridedAutoencoder()
    {
        var net = new Network();
        var x = net.Input("x");
        var e1 = net.Add(new ReLU(), "relu0", net.Add(new Conv2d(3, 8, 3, stride: 2, padding: 1), "enc0", x));
        var e2 = net.Add(new ReLU(), "relu1", net.Add(new Conv2d(8, 8, 4, stride: 2, padding: 1, groups: 2), "enc1", e1));
        var d1 = net.Add(new ReLU(), "relu2", net.Add(new ConvTranspose2d(8, 6, 3, stride: 2, padding: 1, outputPadding: 1), "dec0", e2));
        var d2 = net.Add(new ConvTranspose2d(6, 6, 4, stride: 2, padding: 1), "dec1", d1);
        var y = net.Add(new Sigmoid(), "sigmoid", net.Add(new ConvTranspose2d(6, 3, 3, padding: 1), "head", d2));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        return net;
    }

    /// <summary>
    /// The pointwise losses (MSE, L1, Huber, BCE with logits, and the masked ones with a full or a channel-broadcast mask)
    /// run channels-last: they read the last conv's NHWC output as it is and a target (and mask) made NHWC as it comes in,
    /// and write the prediction's gradient NHWC, so the only transposes are the inputs' and the caller's output's. The
    /// gradients are the NCHW step's bit for bit, the loss within 1e-6 (its terms summed in NHWC order).
    /// </summary>
    [TestCase("mse")]
    [TestCase("l1")]
    [TestCase("huber")]
    [TestCase("bce")]
    [TestCase("masked_mse")]
    [TestCase("masked_l1_full")]
    public void PointwiseLosses_RunChannelsLast(string loss)
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(3, 8, 3, padding: 1), "enc", net.Input("x")));
        var y = net.Add(new Conv2d(8, 3, 3, padding: 1), "head", h);
        net.Output(y, "y");
        var inputs = new Dictionary<string, Shape> { ["x"] = new(2, 3, 8, 6), ["t"] = new(2, 3, 8, 6) };
        Layer lossLayer = loss switch
        {
            "mse" => new MseLoss(), "l1" => new L1Loss(), "huber" => new HuberLoss(0.5f), "bce" => new BceWithLogitsLoss(),
            "masked_mse" => new MaskedMseLoss(), _ => new MaskedL1Loss(),
        };
        bool masked = loss.StartsWith("masked", StringComparison.Ordinal);
        if (masked)
        {
            net.SetLoss(lossLayer, y, net.Input("t"), net.Input("m"));
            inputs["m"] = loss.EndsWith("_full", StringComparison.Ordinal) ? new Shape(2, 3, 8, 6) : new Shape(2, 1, 8, 6);
        }
        else net.SetLoss(lossLayer, y, net.Input("t"));
        var options = new CompileOptions
        {
            InputShapes = inputs, Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0,
            PreferKernels = new[] { nameof(Conv2dInputGradFlipped) },
        };
        var nchw = Train(Context, net, options, 700);
        var nhwc = Train(Context, net, options with { ActivationLayout = TensorLayout.Nhwc }, 700);
        var expected = new[] { "x.to_nhwc", "t.to_nhwc", "head.to_nchw", "x.grad.keep" }.Concat(masked ? new[] { "m.to_nhwc" } : Array.Empty<string>());
        Assert.That(nhwc.Transposes, Is.EquivalentTo(expected), string.Join(", ", nhwc.Plan.Dispatches.Select(d => $"{d.Label} {d.Kernel}")));
        Assert.That(nchw.Loss, Is.Not.EqualTo(0));
        if (!loss.EndsWith("_full", StringComparison.Ordinal))
        {
            AssertBitForBit(nhwc, nchw);
            return;
        }
        // A full mask's sum (every gradient's denominator) is added in NHWC order too: the gradients within 1e-6.
        Assert.That(nhwc.Loss, Is.EqualTo(nchw.Loss).Within(1e-6 * Math.Abs(nchw.Loss)), "the loss");
        foreach (var (name, g) in nchw.Grads)
            Assert.That(RelativeError.MaxRelative(nhwc.Grads[name], g.Select(v => (double)v).ToArray()), Is.LessThan(1e-6), name);
        Assert.That(RelativeError.MaxRelative(nhwc.InputGrad, nchw.InputGrad.Select(v => (double)v).ToArray()), Is.LessThan(1e-6), "x's gradient");
    }

    /// <summary>
    /// A loss whose prediction is not made NHWC (here a Linear's sigmoid output reshaped to 4-D) stays NCHW in a
    /// channels-last plan: nothing is transposed for it, and it still takes the sigmoid's derivative through the view.
    /// </summary>
    [Test]
    public void ALossOfAViewedPrediction_StaysNchw()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(3, 4, 3, padding: 1), "enc", net.Input("x")));
        var z = net.Add(new Sigmoid(), "sig", net.Add(new Linear(4 * 4 * 4, 48), "fc", net.Add(new Flatten(), "flat", h)));
        var y = net.Add(new Reshape(3, 4, 4), "view", z);
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 4, 4), ["t"] = new(2, 3, 4, 4) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, FuseMlp = false,
            PreferKernels = new[] { nameof(Conv2dInputGradFlipped) },
        };
        var nchw = Train(Context, net, options, 800);
        var nhwc = Train(Context, net, options with { ActivationLayout = TensorLayout.Nhwc }, 800);
        string plan = string.Join(", ", nhwc.Plan.Dispatches.Select(d => $"{d.Label} {d.Kernel}"));
        Assert.That(nhwc.Transposes, Has.None.StartWith("t.").And.None.StartWith("loss."), plan);
        Assert.That(nhwc.Plan.Dispatches.Select(d => d.Kernel), Has.None.StartWith("elementwise/unary.bwd"), plan);
        AssertBitForBit(nhwc, nchw);
    }

    /// <summary>
    /// Strided convolutions and transposed convolutions train channels-last as well: their forwards (the direct kernel's and
    /// the gather's .nhwc variants, the stride-1 transposed conv through the flipped weight), their input gradients (the
    /// gather's .nhwc variant for the strided convs, the NHWC forward kernels for the transposed ones) and their weight and
    /// bias gradients. Every parameter's gradient and x's are the NCHW step's bit for bit (the loss within 1e-6), f32 and f16.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void StridedAndTransposedTraining_IsTheNchwStepBitForBit(Precision precision)
    {
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 16, 12), ["t"] = new(2, 3, 16, 12) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, Precision = precision,
            PreferKernels = new[] { nameof(Conv2dInputGradFlipped) },
        };
        var nchw = Train(Context, StridedAutoencoder(), options, 900);
        var nhwc = Train(Context, StridedAutoencoder(), options with { ActivationLayout = TensorLayout.Nhwc }, 900);

        Assert.That(nhwc.KernelOf("dec0.fwd"), Does.StartWith("conv_transpose2d/conv_transpose2d.fwd.nhwc"));
        Assert.That(nhwc.KernelOf("dec1.fwd"), Does.StartWith("conv_transpose2d/conv_transpose2d.fwd.nhwc"));
        Assert.That(nhwc.KernelOf("head.fwd"), Does.StartWith("conv2d/conv2d.fwd.nhwc"), "stride 1: through the flipped weight");
        foreach (var conv in new[] { "enc1", "dec0", "dec1", "head" })
            Assert.That(nhwc.KernelOf($"{conv}.bwd_weight"), Does.StartWith("conv2d/conv2d.bwd_weight.nhwc"), conv);
        Assert.That(nhwc.KernelOf("enc1.bwd_input"), Does.StartWith("conv_transpose2d/conv_transpose2d.fwd.nhwc"));
        foreach (var conv in new[] { "dec0", "dec1", "head" })
            Assert.That(nhwc.KernelOf($"{conv}.bwd_input"), Does.StartWith("conv2d/conv2d.fwd.nhwc"), conv);
        Assert.That(nhwc.Transposes, Is.EquivalentTo(new[] { "x.to_nhwc", "t.to_nhwc", "head.to_nchw", "x.grad.keep" }),
            "x and the target in, y out, x's gradient out: nothing between the layers, the loss reading the NHWC prediction and writing its gradient NHWC");
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.None.Contains(".nhwc"));

        AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Any(v => v != 0), Is.True, $"{name}'s gradient is not all zero");
        Assert.That(nchw.InputGrad.Distinct().Count(), Is.GreaterThan(nchw.InputGrad.Length / 4), "a real gradient");
    }

    /// <summary>
    /// The same on a GPU's f32 kernels (named: on a GPU they run where the compile tunes): a strided conv's input gradient
    /// and a strided transposed conv's forward as every output phase in one dispatch of the implicit GEMM
    /// (conv2d.fwd_gemm.nhwc.phases, through the ReLU before it by its .dact form), the other convolutions on
    /// conv2d.fwd_gemm.nhwc, the weight gradients on the tiled kernel (conv2d.bwd_weight_tiled.nhwc, a Conv2d's bias
    /// gradient in its .bias form). Bit for bit the NCHW step's.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void StridedTraining_OnTheGpusF32Kernels_IsTheNchwStepBitForBit(Precision precision)
    {
        var net = new Network();
        var e1 = net.Add(new ReLU(), "relu0", net.Add(new Conv2d(3, 16, 3, stride: 2, padding: 1), "enc0", net.Input("x")));
        var e2 = net.Add(new ReLU(), "relu1", net.Add(new Conv2d(16, 16, 4, stride: 2, padding: 1), "enc1", e1));
        var d1 = net.Add(new ReLU(), "relu2", net.Add(new ConvTranspose2d(16, 16, 3, stride: 2, padding: 1, outputPadding: 1), "dec0", e2));
        var d2 = net.Add(new ConvTranspose2d(16, 16, 4, stride: 2, padding: 1), "dec1", d1);
        var y = net.Add(new Sigmoid(), "sigmoid", net.Add(new Conv2d(16, 3, 3, padding: 1), "head", d2));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 16, 12), ["t"] = new(2, 3, 16, 12) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, Precision = precision,
            PreferKernels = new[]
            {
                nameof(Conv2dInputGradFlipped), nameof(Conv2dImplicitGemm), nameof(Conv2dImplicitGemmNhwc),
                nameof(Conv2dInputGradPhases), nameof(Conv2dInputGradPhasesNhwc), nameof(Conv2dWeightGradTiled), nameof(Conv2dWeightGradTiledNhwc),
            },
        };
        var nchw = Train(Context, net, options, 950);
        var nhwc = Train(Context, net, options with { ActivationLayout = TensorLayout.Nhwc }, 950);

        foreach (var label in new[] { "dec0.fwd", "dec1.fwd" })
        {
            Assert.That(nhwc.KernelOf(label), Does.StartWith("conv2d/conv2d.fwd_gemm.nhwc.phases"), label);
            Assert.That(nchw.KernelOf(label), Does.StartWith("conv2d/conv2d.fwd_gemm.phases"), label);
        }
        Assert.That(nhwc.KernelOf("enc1.bwd_input"), Does.StartWith("conv2d/conv2d.fwd_gemm.nhwc.phases.dact"));
        foreach (var label in new[] { "enc0.fwd", "enc1.fwd", "head.fwd", "dec1.bwd_input", "head.bwd_input" })
            Assert.That(nhwc.KernelOf(label), Does.StartWith("conv2d/conv2d.fwd_gemm.nhwc"), label);
        foreach (var conv in new[] { "enc0", "enc1", "head" })
            Assert.That(nhwc.KernelOf($"{conv}.bwd_weight"), Does.StartWith("conv2d/conv2d.bwd_weight_tiled.nhwc.bias"), conv);
        foreach (var conv in new[] { "dec0", "dec1" })
            Assert.That(nhwc.KernelOf($"{conv}.bwd_weight"), Does.StartWith("conv2d/conv2d.bwd_weight_tiled.nhwc"), conv);
        AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Any(v => v != 0), Is.True, $"{name}'s gradient is not all zero");
    }

    /// <summary>
    /// The UNet's step on the Winograd kernels (named: on a GPU they run where the compile tunes), channels-last: the
    /// forwards on conv2d.fwd_winograd.nhwc (the decoder's through its .concat form, the pooled encoder's through its
    /// .pool.keep form), the stride-1 input gradients through
    /// the flipped weight on it (through a ReLU by its .dact form), the weight gradients on conv2d.bwd_weight_winograd.nhwc
    /// (a Conv2d's bias in its .bias form). Bit for bit the NCHW step's, f32 and f16.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void Training_OnWinograd_IsTheNchwStepBitForBit(Precision precision)
    {
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = TrainInput, ["t"] = new(2, 3, 16, 12) },
            Training = true, InputGradients = true, InputGradientNames = new[] { "x" }, LearningRate = 0, Precision = precision,
            TexelReads = false, SubPixelDecoders = false,
            PreferKernels = new[]
            {
                nameof(Conv2dInputGradFlipped), nameof(Conv2dWinograd), nameof(Conv2dWinogradNhwc),
                nameof(Conv2dWeightGradWinograd), nameof(Conv2dWeightGradWinogradNhwc),
            },
        };
        var nchw = Train(Context, TrainingUNet(), options, 1000);
        var nhwc = Train(Context, TrainingUNet(), options with { ActivationLayout = TensorLayout.Nhwc }, 1000);

        foreach (var conv in new[] { "enc", "mid", "deep" })
        {
            // deep's output is also the pool's input: its kernel writes both (the .pool.keep form).
            Assert.That(nhwc.KernelOf(conv == "deep" ? "deep+pool.fwd" : $"{conv}.fwd"), Does.StartWith("conv2d/conv2d.fwd_winograd.nhwc"), conv);
            Assert.That(nhwc.KernelOf($"{conv}.bwd_weight"), Does.StartWith("conv2d/conv2d.bwd_weight_winograd.nhwc.bias"), conv);
        }
        Assert.That(nhwc.KernelOf("deep+pool.fwd"), Does.StartWith("conv2d/conv2d.fwd_winograd.nhwc.pool.keep"));
        Assert.That(nchw.KernelOf("deep+pool.fwd"), Does.StartWith("conv2d/conv2d.fwd_winograd.pool.keep"));
        Assert.That(nhwc.KernelOf("dec.fwd"), Does.StartWith("conv2d/conv2d.fwd_winograd.nhwc.concat"));
        Assert.That(nhwc.KernelOf("mid.bwd_input"), Does.StartWith("conv2d/conv2d.fwd_winograd.nhwc.dact"), "through the ReLU after down");
        Assert.That(nchw.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("conv2d/conv2d.bwd_weight_winograd.bias"));
        AssertBitForBit(nhwc, nchw);
        foreach (var (name, g) in nchw.Grads) Assert.That(g.Any(v => v != 0), Is.True, $"{name}'s gradient is not all zero");
    }

    /// <summary>
    /// A training plan left to the compile with tuned kernels is timed in both layouts too, once: a second compile recalls
    /// the layout and every kernel, and the plan runs channels-last gradient kernels exactly where it chose NHWC.
    /// </summary>
    [Test]
    public void Automatic_ChoosesTheTrainingPlansLayoutToo()
    {
        var options = new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = TrainInput, ["t"] = new(2, 3, 16, 12) },
            Training = true, LearningRate = 0, Autotune = true,
        };
        using var first = TrainingUNet().Compile(Context, options);
        int timed = Context.Tuner.Timed;
        using var second = TrainingUNet().Compile(Context, options);
        Assert.That(Context.Tuner.Timed, Is.EqualTo(timed), "the second compile recalls the layout and every kernel");
        Assert.That(second.ActivationLayout, Is.EqualTo(first.ActivationLayout));
        Assert.That(first.Plan.Dispatches.Any(d => d.Phase == "backward" && d.Kernel.Contains(".nhwc")),
            Is.EqualTo(first.ActivationLayout == TensorLayout.Nhwc));
    }

    [Test]
    public void RowMajorActivations_AreRefused()
    {
        var net = new Network();
        net.Output(net.Add(new Conv2d(2, 2, 3, padding: 1), "conv", net.Input("x")), "y");
        var e = Assert.Throws<GraphException>(() => net.Plan(Context.KernelDevice,
            CompileOptions.For("x", new Shape(1, 2, 8, 8)) with { ActivationLayout = TensorLayout.RowMajor }));
        Assert.That(e!.Message, Does.Contain("Nchw or Nhwc"));
    }

    /// <summary>The guard in Emitter.Dispatch: an NCHW kernel handed an NHWC value fails the compile, naming both.</summary>
    [Test]
    public void NchwKernel_RefusesAnNhwcValue()
    {
        var e = new Emitter(Context.KernelDevice);
        var x = e.NewValue(new Shape(1, 4, 6, 6), ValueKind.Input, "x", layout: TensorLayout.Nhwc);
        var y = e.NewValue(new Shape(1, 4, 3, 3), ValueKind.Output, "y", layout: TensorLayout.Nhwc);
        var spec = new Kiln.Vulkan.KernelSpec("pool/pool.fwd", Kiln.Vulkan.KernelSpec.Buffers(2), 20, new uint[9], Emitter.ElementwiseLocal);
        var error = Assert.Throws<GraphException>(() => e.Dispatch(spec, (1, 1, 1), new byte[20], "pool.fwd", Arg.In(x), Arg.Out(y)));
        Assert.That(error!.Message, Does.Contain("pool/pool.fwd").And.Contain("NHWC"));
        Assert.DoesNotThrow(() => e.Dispatch(spec with { Module = "pool/pool.fwd.nhwc" }, (1, 1, 1), new byte[20], "pool.fwd", Arg.In(x), Arg.Out(y)));
    }
}
