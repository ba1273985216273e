using NUnit.Framework;
using Kiln.Tests.Reference;
using Kiln.Tests.Layers;

namespace Kiln.Tests.Graph;

/// <summary>
/// The concat-into-conv fusion of inference plans (engine/Layers/ConcatConv2d.cs): a Conv2d reading a concatenation of
/// two inputs, either upsampled by nearest neighbour, reads both inputs itself through its kernel's ".concat" variant,
/// so neither the concatenation nor an upsampled tensor is written. Checked against the CPU reference (upsample,
/// concat, conv, ReLU in double) and bit for bit against the unfused plan (Fuse = false: the same conv kernel and tile),
/// at f32 and f16 storage, for the upsampled input first or second, scales 2 and 3, no upsample, a strided conv, the
/// tiled and Winograd kernels, and tuned (the direct kernel's tiles timed in their concat form); with texel reads (no such variant)
/// the layer writes the concatenation itself; in a training plan the weight gradient reads both inputs too, and the
/// gradients are the unfused plan's.
/// </summary>
public sealed class ConcatConvFusionTests : GpuTest
{
    const int N = 2, H = 5, W = 4;

    /// <summary>"up_first": conv(Concat(Up(a), b)); "up_last": conv(Concat(b, Up(a))); "plain": conv(Concat(b, c)).</summary>
    static (Network Net, Dictionary<string, Shape> Shapes, int[] Channels, int[] Scales) Build(string layout, int scale, int stride = 1, int cout = 6)
    {
        var net = new Network();
        var b = net.Input("b");
        var shapes = new Dictionary<string, Shape> { ["b"] = new(N, 2, H * scale, W * scale) };
        Node cat;
        int[] channels, scales;
        if (layout == "plain")
        {
            shapes["c"] = new(N, 4, H * scale, W * scale);
            cat = net.Add(new Concat(), "cat", b, net.Input("c"));
            (channels, scales) = (new[] { 2, 4 }, new[] { 1, 1 });
        }
        else
        {
            shapes["a"] = new(N, 3, H, W);
            var up = net.Add(new Upsample(scale), "up", net.Input("a"));
            bool first = layout == "up_first";
            cat = first ? net.Add(new Concat(), "cat", up, b) : net.Add(new Concat(), "cat", b, up);
            (channels, scales) = first ? (new[] { 3, 2 }, new[] { scale, 1 }) : (new[] { 2, 3 }, new[] { 1, scale });
        }
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(channels.Sum(), cout, 3, stride: stride, padding: 1), "conv", cat));
        net.Output(y, "y");
        return (net, shapes, channels, scales);
    }

    static float[] Run(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, bool texel, out string[] kernels,
        out PlanReport plan, bool autotune = false, string? prefer = null)
    {
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Fuse = fuse, Precision = precision, TexelReads = texel, Autotune = autotune,
            PreferKernels = prefer != null ? new[] { prefer } : Array.Empty<string>(),
        });
        foreach (var (name, shape) in shapes) compiled.SetInput(name, Input(name, shape));
        compiled.Parameters["conv.weight"].Upload(Weight(compiled.Parameters["conv.weight"].Shape));
        compiled.Parameters["conv.bias"].Upload(Weight(compiled.Parameters["conv.bias"].Shape));
        compiled.Run();
        kernels = compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray();
        plan = compiled.Plan;
        return compiled.GetOutput("y");
    }

    static float[] Input(string name, Shape shape) => RandomData.Uniform((int)shape.Elements, name[0]).Select(v => (float)v).ToArray();
    static float[] Weight(Shape shape) => RandomData.Uniform((int)shape.Elements, (int)shape.Elements, -0.5, 0.5).Select(v => (float)v).ToArray();

    static double[] Reference(Dictionary<string, Shape> shapes, string layout, int scale, int stride, int[] channels, int cout = 6)
    {
        int h = H * scale, w = W * scale;
        double[] D(string name) => Input(name, shapes[name]).Select(v => (double)v).ToArray();
        var b = D("b");
        var parts = layout switch
        {
            "plain" => new[] { b, D("c") },
            "up_first" => new[] { RefUpsample.Forward(D("a"), N, 3, H, W, scale, "nearest"), b },
            _ => new[] { b, RefUpsample.Forward(D("a"), N, 3, H, W, scale, "nearest") },
        };
        var x = RefConcat.Forward(parts, N, channels, h, w);
        var spec = new Conv2dSpec(N, channels.Sum(), h, w, cout, 3, 3, stride, stride, 1, 1);
        var weight = Weight(new Shape(cout, channels.Sum(), 3, 3)).Select(v => (double)v).ToArray();
        var bias = Weight(new Shape(cout)).Select(v => (double)v).ToArray();
        return RefConv2d.Forward(spec, x, weight, bias).Select(v => Math.Max(v, 0)).ToArray();
    }

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            foreach (var layout in new[] { "up_first", "up_last" })
            foreach (var scale in new[] { 2, 3 })
                yield return new TestCaseData(layout, scale, 1, precision);
            yield return new TestCaseData("plain", 1, 1, precision);
            yield return new TestCaseData("up_first", 2, 2, precision);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Fused_ReadsBothInputs_AndMatchesTheReferenceAndTheUnfusedPlan(string layout, int scale, int stride, Precision precision)
    {
        var (net, shapes, channels, _) = Build(layout, scale, stride);
        var fused = Run(net, shapes, true, precision, texel: false, out var kernels, out var plan);
        var plain = Run(net, shapes, false, precision, texel: false, out _, out _);

        string suffix = precision == Precision.Fp16 ? ".f16" : "";
        Assert.That(kernels.Where(k => k.StartsWith("conv2d/")), Is.EqualTo(new[] { "conv2d/conv2d.fwd.concat" + suffix }), string.Join(", ", kernels));
        Assert.That(kernels.Where(k => k.StartsWith("upsample/") || k.StartsWith("concat/")), Is.Empty, "nothing is upsampled or copied");
        Assert.That(plan.Dispatches.SelectMany(d => d.Writes).Where(v => v.StartsWith("cat") || v.StartsWith("up")), Is.Empty,
            "neither the concatenation nor the upsampled tensor is written");
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
        var reference = Reference(shapes, layout, scale, stride, channels);
        double tolerance = precision == Precision.Fp16 ? Tolerances.F16Storage : Tolerances.Forward;
        Assert.That(RelativeError.MaxRelative(fused, reference), Is.LessThan(tolerance), "against the CPU reference");
    }

    /// <summary>The GPU's shared-memory tiled kernel and the Winograd kernel (named here: lavapipe runs them only so) read their patches from both inputs.</summary>
    [TestCase("Conv2dTiled", "conv2d/conv2d.fwd_tiled", Precision.Fp32)]
    [TestCase("Conv2dTiled", "conv2d/conv2d.fwd_tiled", Precision.Fp16)]
    [TestCase("Conv2dWinograd", "conv2d/conv2d.fwd_winograd", Precision.Fp32)]
    [TestCase("Conv2dWinograd", "conv2d/conv2d.fwd_winograd", Precision.Fp16)]
    public void TheGpuKernels_ReadBothInputs(string entry, string module, Precision precision)
    {
        var (net, shapes, channels, _) = Build("up_last", 2, cout: 16); // both take 16 output channels or more
        var fused = Run(net, shapes, true, precision, texel: false, out var kernels, out _, prefer: entry);
        var plain = Run(net, shapes, false, precision, texel: false, out var plainKernels, out _, prefer: entry);
        string suffix = precision == Precision.Fp16 ? ".f16" : "";
        Assert.That(kernels.Where(k => k.StartsWith("conv2d/") && !k.Contains("_weight")), Is.EqualTo(new[] { module + ".concat" + suffix }));
        Assert.That(plainKernels, Does.Contain(module + suffix));
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
        double tolerance = precision == Precision.Fp16 ? Tolerances.F16Storage : Tolerances.Forward;
        Assert.That(RelativeError.MaxRelative(fused, Reference(shapes, "up_last", 2, 1, channels, 16)), Is.LessThan(tolerance));
    }

    [Test]
    public void Tuned_TimesTheConcatCandidates_AndMatchesTheReference()
    {
        var (net, shapes, channels, _) = Build("up_first", 2);
        var tuned = Run(net, shapes, true, Precision.Fp32, texel: false, out var kernels, out _, autotune: true);
        // lavapipe prefers every entry here: the direct .concat kernel, or the sub-pixel one with its weight pass; in
        // either layout, since tuning also times the plan with channels-last activations and keeps the faster (on two
        // busy cores either can win).
        Assert.That(kernels.Where(k => k.StartsWith("conv2d/")).Select(k => k.Replace(".nhwc", "")),
            Is.EqualTo(new[] { "conv2d/conv2d.fwd.concat" }).Or.EqualTo(new[] { "conv2d/conv2d.subpixel_weight", "conv2d/conv2d.fwd_subpixel" }));
        Assert.That(RelativeError.MaxRelative(tuned, Reference(shapes, "up_first", 2, 1, channels)), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void WithTexelReads_TheLayerWritesTheConcatenation_AndTheResultIsTheSame()
    {
        var (net, shapes, _, _) = Build("up_first", 2);
        var fused = Run(net, shapes, true, Precision.Fp32, texel: true, out var kernels, out _);
        var plain = Run(net, shapes, false, Precision.Fp32, texel: true, out _, out _);
        Assert.That(kernels, Does.Contain("conv2d/conv2d.fwd.texel").And.Some.StartsWith("upsample/upsample.fwd").And.Some.StartsWith("concat/"));
        Assert.That(fused, Is.EqualTo(plain).AsCollection);
    }

    /// <summary>
    /// A training plan fuses too: the forward reads both inputs. Over a 3x upsample the weight gradient reads them
    /// through its kernel's .concat variant (the tiled or Winograd kernel, named) or, with lavapipe's direct kernel, from
    /// the concatenation the gradient rule writes just before it, and the loss and every gradient are bit for bit the
    /// unfused plan's. Over a 2x upsample the gradients go by sub-pixel phase (<see cref="SubPixelGradients"/>: two
    /// derived weights, the 4x4 weight gradient folded back, no upsample backward, no concatenation written) and agree
    /// with the unfused plan's within rounding (<see cref="AssertMatchesTheUnfusedStep"/>); at f32 and f16 storage.
    /// </summary>
    [TestCase(Precision.Fp32, null, "up_last", 3)]
    [TestCase(Precision.Fp16, null, "up_last", 3)]
    [TestCase(Precision.Fp32, "Conv2dWeightGradTiled", "up_last", 3)]
    [TestCase(Precision.Fp16, "Conv2dWeightGradTiled", "up_first", 3)]
    [TestCase(Precision.Fp32, "Conv2dWeightGradWinograd", "up_first", 3)]
    [TestCase(Precision.Fp16, "Conv2dWeightGradWinograd", "up_last", 3)]
    [TestCase(Precision.Fp32, null, "up_last", 2)]
    [TestCase(Precision.Fp16, null, "up_last", 2)]
    [TestCase(Precision.Fp32, "Conv2dWeightGradTiled", "up_first", 2)]
    [TestCase(Precision.Fp16, "Conv2dWeightGradWinograd", "up_first", 2)]
    public void TrainingPlans_ReadTheInputsForward_AndForTheWeightGradient(Precision precision, string? prefer, string layout, int scale)
    {
        var (net, shapes, _, _) = Build(layout, scale, cout: 16);
        shapes["target"] = new(N, 16, H * scale, W * scale);
        net.SetLoss(new MseLoss(), net.Outputs[0].Node, net.Input("target"));
        var fused = Train(net, shapes, true, precision, prefer, out var plan);
        var plain = Train(net, shapes, false, precision, prefer, out _);
        string suffix = precision == Precision.Fp16 ? ".f16" : "";
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(plan.Dispatches.Where(d => d.Phase == "forward").Select(d => d.Kernel),
            Does.Contain("conv2d/conv2d.fwd.concat" + suffix).And.Not.Contain("conv2d/conv2d.fwd" + suffix));
        var concatWrites = plan.Dispatches.Where(d => d.Writes.Any(v => v.StartsWith("conv.concat", StringComparison.Ordinal))).ToList();
        if (scale == 2)
        {
            Assert.That(kernels, Has.Exactly(2).EqualTo("conv2d/conv2d.subpixel_weight").And.Exactly(1).EqualTo("conv2d/conv2d.subpixel_weight_grad")
                .And.None.StartsWith("upsample/upsample.bwd"), string.Join(", ", kernels));
            Assert.That(plan.Dispatches.Where(d => d.Phase == "backward").Select(d => d.Kernel), Has.None.Contains(".concat"), "no .concat weight gradient");
            Assert.That(concatWrites, Is.Empty, "the concatenation is never written");
            AssertMatchesTheUnfusedStep(fused, plain, precision, subPixel: true);
            return;
        }
        Assert.That(kernels, Has.None.StartsWith("conv2d/conv2d.subpixel"));
        if (prefer == null)
            Assert.That(concatWrites.Select(d => d.Phase).Distinct(), Is.EqualTo(new[] { "backward" }), "the concatenation is written in the backward pass only");
        else
        {
            // The .concat.bias variant writes the bias gradient too (ConvWeightGrad.SummingBias).
            var module = prefer == "Conv2dWeightGradTiled" ? "conv2d/conv2d.bwd_weight_tiled" : "conv2d/conv2d.bwd_weight_winograd";
            Assert.That(kernels, Does.Contain(module + ".concat.bias" + suffix));
            Assert.That(concatWrites, Is.Empty, "the concatenation is never written");
        }
        AssertMatchesTheUnfusedStep(fused, plain, precision, subPixel: false);
    }

    /// <summary>
    /// A training step's results (<see cref="Train"/>) against the unfused plan's, none all zeros: bit for bit where the
    /// fused plan's gradients read the same values in the same sums; where they go by sub-pixel phase
    /// (<paramref name="subPixel"/>: summed in another order) the loss and the bias gradient bit for bit and every other
    /// gradient within 1e-5 of the largest value at f32, <see cref="Tolerances.F16Storage"/> at f16 storage.
    /// </summary>
    internal static void AssertMatchesTheUnfusedStep(Dictionary<string, float[]> fused, Dictionary<string, float[]> plain, Precision precision, bool subPixel)
    {
        Assert.That(fused.Keys, Is.EquivalentTo(plain.Keys));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            if (!subPixel || name is "loss" or "grad conv.bias") Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
            else F16StorageCheck.Close(fused[name], values, precision == Precision.Fp16 ? Tolerances.F16Storage : 1e-5, name);
        }
    }

    /// <summary>
    /// CompileOptions.SubPixelDecoders = false keeps a 2x decoder in its 3x3 form: the .concat kernels forward and for the
    /// weight gradient (the sub-pixel entries, named, offer nothing), the concatenation's gradient split through the
    /// upsample's backward, and every result the unfused plan's bit for bit.
    /// </summary>
    [Test]
    public void TrainingPlans_WithoutSubPixelDecoders_KeepThe3x3Form()
    {
        var (net, shapes, _, _) = Build("up_first", 2, cout: 16);
        shapes["target"] = new(N, 16, H * 2, W * 2);
        net.SetLoss(new MseLoss(), net.Outputs[0].Node, net.Input("target"));
        const string named = "Conv2dDirectSubPixel,Conv2dWeightGradTiled";
        var fused = Train(net, shapes, true, Precision.Fp32, named, out var plan, subPixel: false);
        var plain = Train(net, shapes, false, Precision.Fp32, named, out _, subPixel: false);
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Has.None.Contains("subpixel").And.Contain("conv2d/conv2d.fwd.concat").And.Contain("conv2d/conv2d.bwd_weight_tiled.concat")
            .And.Some.StartsWith("upsample/upsample.bwd"), string.Join(", ", kernels));
        AssertMatchesTheUnfusedStep(fused, plain, Precision.Fp32, subPixel: false);
        Train(net, shapes, true, Precision.Fp32, named, out var onPlan);
        Assert.That(onPlan.Dispatches.Select(d => d.Kernel), Has.Some.Contains("subpixel"), "on by default");
    }

    /// <summary>Tuned, the weight gradient's .concat candidates (the tiled and Winograd kernels, named) are timed against
    /// each other and agree; the tuned step's gradients are within the tolerance of the unfused, untuned plan's.</summary>
    [Test]
    public void TrainingPlans_Tuned_TimeTheWeightGradientsConcatCandidates()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-concat-dw-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // 3x (a 2x upsample's weight gradient goes by sub-pixel phase): the Winograd candidate splits its reduction
            // here, and the tuner binds its partials in the place of dw, not of the concatenation's second part bound after it.
            var (net, shapes, _, _) = Build("up_first", 3, cout: 16);
            shapes["target"] = new(N, 16, H * 3, W * 3);
            net.SetLoss(new MseLoss(), net.Outputs[0].Node, net.Input("target"));
            var plain = Train(net, shapes, false, Precision.Fp32, null, out _);
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var compiled = net.Compile(ctx, new CompileOptions
            {
                InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, TexelReads = false, Autotune = true,
                ActivationLayout = TensorLayout.Nchw, // the NCHW kernels' candidates, not the layout's choice
                PreferKernels = new[] { "Conv2dWeightGradTiled", "Conv2dWeightGradWinograd" },
            });
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the tiled kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("conv2d.bwd_weight.concat|Conv2dWeightGradWinograd+Conv2dWeightGradTiled"));
            Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel), Has.Some.Matches<string>(k => k.StartsWith("conv2d/conv2d.bwd_weight_") && k.Contains(".concat")));
            foreach (var (name, shape) in shapes) compiled.SetInput(name, Input(name, shape));
            compiled.Parameters["conv.weight"].Upload(Weight(compiled.Parameters["conv.weight"].Shape));
            compiled.Parameters["conv.bias"].Upload(Weight(compiled.Parameters["conv.bias"].Shape));
            compiled.Run();
            Assert.That(RelativeError.MaxRelative(compiled.Gradients["conv.weight"].ToArray(), plain["grad conv.weight"].Select(v => (double)v).ToArray()),
                Is.LessThan(Tolerances.Gradient));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Only one of the concatenation's inputs needs a gradient (the other is a network input, and input gradients are
    /// off): only that one's gradient is computed (one derived weight, the upsampled input's), and the gradients are the
    /// unfused plan's within f32 rounding (by sub-pixel phase).
    /// </summary>
    [Test]
    public void TrainingPlans_OneInputWithoutAGradient_MatchTheUnfusedPlan()
    {
        var net = new Network();
        var low = net.Add(new Conv2d(3, 5, 3, padding: 1), "pre", net.Input("a"));
        var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up", low), net.Input("b"));
        var y = net.Add(new Conv2d(7, 16, 3, padding: 1), "conv", cat);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["a"] = new(N, 3, H, W), ["b"] = new(N, 2, 2 * H, 2 * W), ["target"] = new(N, 16, 2 * H, 2 * W) };
        Dictionary<string, float[]> Step(bool fuse)
        {
            using var compiled = net.Compile(Context, new CompileOptions
            {
                InputShapes = shapes, Training = true, LearningRate = 0, Fuse = fuse, TexelReads = false,
                PreferKernels = new[] { "Conv2dWeightGradTiled" },
            });
            Assert.That(compiled.Plan.Dispatches.Any(d => d.Kernel.EndsWith(".concat", StringComparison.Ordinal)), Is.EqualTo(fuse), "the forward reads both inputs");
            Assert.That(compiled.Plan.Dispatches.Count(d => d.Kernel == "conv2d/conv2d.subpixel_weight"), Is.EqualTo(fuse ? 1 : 0));
            Assert.That(compiled.Plan.Dispatches.Count(d => d.Kernel == "conv2d/conv2d.subpixel_weight_grad"), Is.EqualTo(fuse ? 1 : 0));
            foreach (var (name, shape) in shapes) compiled.SetInput(name, Input(name, shape));
            foreach (var (name, t) in compiled.Parameters) t.Upload(Weight(t.Shape));
            compiled.Run();
            return compiled.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        }
        var fused = Step(true);
        var plain = Step(false);
        Assert.That(fused.Keys, Is.EquivalentTo(new[] { "pre.weight", "pre.bias", "conv.weight", "conv.bias" }));
        AssertMatchesTheUnfusedStep(fused.ToDictionary(kv => "grad " + kv.Key, kv => kv.Value), plain.ToDictionary(kv => "grad " + kv.Key, kv => kv.Value),
            Precision.Fp32, subPixel: true);
    }

    /// <summary>The loss, the parameter gradients and the inputs' gradients of one training step at learning rate 0.</summary>
    internal static Dictionary<string, float[]> Train(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, string? prefer,
        out PlanReport plan, bool subPixel = true)
    {
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, Fuse = fuse, Precision = precision, SubPixelDecoders = subPixel,
            TexelReads = false, LossScaling = LossScaling.Off, PreferKernels = prefer != null ? prefer.Split(',') : Array.Empty<string>(),
        });
        foreach (var (name, shape) in shapes) compiled.SetInput(name, Input(name, shape));
        compiled.Parameters["conv.weight"].Upload(Weight(compiled.Parameters["conv.weight"].Shape));
        compiled.Parameters["conv.bias"].Upload(Weight(compiled.Parameters["conv.bias"].Shape));
        compiled.Run();
        plan = compiled.Plan;
        var result = new Dictionary<string, float[]> { ["loss"] = compiled.GetOutput("loss") };
        foreach (var (name, g) in compiled.Gradients) result[$"grad {name}"] = g.ToArray();
        foreach (var (name, g) in compiled.InputGradients.Where(kv => kv.Key != "target")) result[$"grad {name}"] = g.ToArray();
        return result;
    }

    [Test]
    public void ConcatsUsedElsewhere_AreWritten()
    {
        var named = new Network();
        var cat = named.Add(new Concat(), "cat", named.Input("b"), named.Input("c"));
        named.Output(named.Add(new Conv2d(6, 4, 3, padding: 1), "conv", cat), "y");
        named.Output(cat, "cat");
        var plan = named.Plan(Gpu.Context.KernelDevice, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["b"] = new(1, 2, 6, 6), ["c"] = new(1, 4, 6, 6) }, TexelReads = false,
        });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Does.Contain("conv2d/conv2d.fwd").And.Not.Contain("conv2d/conv2d.fwd.concat"),
            "a concatenation that is an output is written");
    }
}
