using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// An activation fused into a convolution whose output has one reader, another convolution: that reader's input
/// gradient leaves its kernel through the activation's derivative (the ".dact" variant, <see cref="ActivationGradient"/>),
/// and the activation has no backward pass of its own. On lavapipe with storage-buffer reads and the flipped input
/// gradient named (the forward kernel computes dX: here the direct kernel), each activation's training step matches the
/// unfused plan's (Fuse = false: separate layers, a unary.bwd pass each) bit for bit at f32 and within
/// <see cref="Tolerances.F16Storage"/> at f16 storage (one rounding to f16 where the unfused plan has two); an output read
/// twice keeps its pass; without the variant (texel reads, lavapipe's default) nothing changes; and the sub-pixel
/// decoder's upsampled input takes it in its 4x4 input gradient, a transposed convolution in its input gradient (a strided
/// forward). A UNet encoder's output, read by its max pool and by a
/// decoder, gets its whole gradient before the activation in the pool's backward pass (the decoder's part added there).
/// </summary>
public sealed class ActivationGradientFusionTests : GpuTest
{
    const string Flipped = nameof(Conv2dInputGradFlipped);
    const string Dact = "conv2d/conv2d.fwd.dact";

    internal static IEnumerable<TestCaseData> Activations() => new[]
    {
        new TestCaseData(new ReLU()).SetArgDisplayNames("relu"),
        new TestCaseData(new LeakyReLU(0.2f)).SetArgDisplayNames("leaky_relu"),
        new TestCaseData(new Sigmoid()).SetArgDisplayNames("sigmoid"),
        new TestCaseData(new Tanh()).SetArgDisplayNames("tanh"),
    };

    /// <summary>x -> conv1 -> act -> conv2 (-> tanh) -> MSE against the target, <paramref name="channels"/> channels
    /// between the convolutions; with <paramref name="skip"/> act's output is also added to conv2's (a second reader).
    /// The last activation is smooth: at f16 the fused and unfused plans round conv1's output differently, and a kink
    /// after conv2 would turn that into a different gradient wherever conv2's output crosses it.</summary>
    internal static (Network Net, Dictionary<string, Shape> Shapes) Chain(Layer act, bool skip = false, int channels = 8, int h = 7, int w = 9)
    {
        var net = new Network();
        var a = net.Add(act, "act", net.Add(new Conv2d(5, channels, 3, padding: 1), "conv1", net.Input("x")));
        Node y = net.Add(new Tanh(), "out", net.Add(new Conv2d(channels, channels, 3, padding: 1), "conv2", a));
        if (skip) y = net.Add(new Add(), "add", y, a);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, new Dictionary<string, Shape> { ["x"] = new(2, 5, h, w), ["target"] = new(2, channels, h, w) });
    }

    /// <summary>Conv(5 -> 16, 3x3) and <paramref name="act"/> read by a strided Conv(16 -> 24, <paramref name="kernel"/>, stride
    /// 2), MSE: the strided layer's input gradient by output phase takes the activation's derivative.</summary>
    internal static (Network Net, Dictionary<string, Shape> Shapes) StridedChain(Layer act, int kernel, int padding)
    {
        var net = new Network();
        var a = net.Add(act, "act", net.Add(new Conv2d(5, 16, 3, padding: 1), "conv1", net.Input("x")));
        var y = net.Add(new Conv2d(16, 24, kernel, stride: 2, padding: padding), "conv2", a);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var x = new Shape(2, 5, 10, 14);
        var target = new Conv2d(16, 24, kernel, stride: 2, padding: padding).OutputShape(new[] { new Shape(2, 16, 10, 14) });
        return (net, new Dictionary<string, Shape> { ["x"] = x, ["target"] = target });
    }

    /// <summary>One training step (rate 0): the loss, every parameter's gradient and x's.</summary>
    internal static Dictionary<string, float[]> Step(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, bool texelReads,
        out PlanReport plan, params string[] prefer) => Step(net, shapes, fuse, precision, texelReads, subPixel: true, LossScaling.Off, out plan, prefer);

    /// <summary>The same, the gradients divided by <paramref name="scaling"/>'s initial scale (which the backward pass
    /// starts from) where it is on.</summary>
    internal static Dictionary<string, float[]> Step(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, bool texelReads,
        bool subPixel, LossScaling scaling, out PlanReport plan, params string[] prefer) =>
        Step(net, shapes, fuse, precision, texelReads, subPixel, scaling, TensorLayout.Nchw, out plan, prefer);

    /// <summary>The same with the plan's activations in <paramref name="layout"/>.</summary>
    internal static Dictionary<string, float[]> Step(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, bool texelReads,
        bool subPixel, LossScaling scaling, TensorLayout layout, out PlanReport plan, params string[] prefer)
    {
        var options = new CompileOptions
        {
            InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, Fuse = fuse, Precision = precision,
            TexelReads = texelReads, LossScaling = scaling, PreferKernels = prefer, SubPixelDecoders = subPixel, ActivationLayout = layout,
            FuseMlp = false, // Linear layers stay apart, as on lavapipe, where a GPU would fuse narrow chains into one MLP kernel
        };
        return Step(Context, net, options, out plan);
    }

    /// <summary>One training step compiled with <paramref name="options"/> (its loss scaling given) in <paramref name="context"/>
    /// (the inputs and parameters as above; the loss, every parameter's gradient and x's, divided by the initial loss scale).</summary>
    internal static Dictionary<string, float[]> Step(GpuContext context, Network net, CompileOptions options, out PlanReport plan)
    {
        var (shapes, scaling) = (options.InputShapes, options.LossScaling ?? throw new ArgumentException("the step's loss scaling is given"));
        using var compiled = net.Compile(context, options);
        foreach (var (name, shape) in shapes)
            compiled.SetInput(name, RandomData.Uniform((int)shape.Elements, name[0]).Select(v => (float)v).ToArray());
        // Weights in +-1/sqrt(fan-in) (biases +-0.1), as PyTorch initializes them, so a deep network's activations stay
        // in f16's range.
        foreach (var (name, p) in compiled.Parameters)
        {
            double bound = p.Shape.Rank > 1 ? 1 / Math.Sqrt(p.Shape.Elements / p.Shape[0]) : 0.1;
            p.Upload(RandomData.Uniform((int)p.Shape.Elements, name.Length + (int)p.Shape.Elements, -bound, bound).Select(v => (float)v).ToArray());
        }
        compiled.Run();
        plan = compiled.Plan;
        float unscale = scaling.IsOff ? 1 : 1 / scaling.Initial;
        var result = new Dictionary<string, float[]> { ["loss"] = compiled.GetOutput("loss") };
        foreach (var (name, g) in compiled.Gradients) result[$"grad {name}"] = g.ToArray().Select(v => v * unscale).ToArray();
        result["grad x"] = compiled.InputGradients["x"].ToArray().Select(v => v * unscale).ToArray();
        return result;
    }

    internal static string Kernels(PlanReport plan) => string.Join(", ", plan.Dispatches.Select(d => $"{d.Label}:{d.Kernel}"));

    [TestCaseSource(nameof(Activations))]
    public void Fp32_TheInputGradientTakesTheActivation_BitForBitTheUnfusedStep(Layer act)
    {
        var (net, shapes) = Chain(act);
        var fused = Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Flipped);
        var plain = Step(net, shapes, false, Precision.Fp32, texelReads: false, out var plainPlan, Flipped);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo(Dact), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartWith("elementwise/unary.bwd"),
            "conv2's tanh is taken by the loss's backward kernel");
        Assert.That(plainPlan.Dispatches.Count(d => d.Kernel.StartsWith("elementwise/unary.bwd", StringComparison.Ordinal)), Is.EqualTo(2));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
        }
    }

    [TestCaseSource(nameof(Activations))]
    public void Fp16_TheInputGradientTakesTheActivation_AsTheUnfusedStep(Layer act)
    {
        var (net, shapes) = Chain(act);
        var fused = Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan, Flipped);
        var plain = Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, Flipped);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo(Dact + ".f16"), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv1.act.bwd"));
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// The tiled, Winograd and narrow forward kernels, which a GPU's tuner times against the direct one for input gradients,
    /// have the variant too, so the fusion does not depend on the tuner's choice: named, each computes conv2's input
    /// gradient through the activation's derivative, bit for bit the unfused step at f32 (the same kernel computes dX in
    /// both plans) and within <see cref="Tolerances.F16Storage"/> of it at f16 storage.
    /// </summary>
    [TestCase(nameof(Conv2dTiled), "conv2d/conv2d.fwd_tiled.dact", "sigmoid", 16)]
    [TestCase(nameof(Conv2dWinograd), "conv2d/conv2d.fwd_winograd.dact", "leaky_relu", 16)]
    [TestCase(nameof(Conv2dNarrow), "conv2d/conv2d.fwd_narrow.dact", "sigmoid", 8)]
    public void TheTunedKernels_TakeTheActivation_AsTheUnfusedStep(string entry, string module, string activation, int channels)
    {
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            // The tiled and Winograd kernels compute 16 output channels or more, the narrow one at most 8.
            var (net, shapes) = Chain(activation == "sigmoid" ? new Sigmoid() : new LeakyReLU(0.2f), channels: channels, h: 9, w: 11);
            var fused = Step(net, shapes, true, precision, texelReads: false, out var plan, Flipped, entry);
            var plain = Step(net, shapes, false, precision, texelReads: false, out _, Flipped, entry);
            string suffix = precision == Precision.Fp16 ? ".f16" : "";
            Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo(module + suffix), Kernels(plan));
            Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv1.act.bwd"));
            foreach (var (name, values) in plain)
            {
                Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
                if (precision == Precision.Fp32) Assert.That(fused[name], Is.EqualTo(values).AsCollection, $"{precision} {name}");
                else F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, $"{precision} {name}");
            }
        }
    }

    /// <summary>
    /// The activation before a loss (a UNet's final sigmoid): the loss's backward kernel, which reads the prediction
    /// anyway, multiplies its gradient by the derivative at it (shaders/include/loss_act.glsl), and the activation has no
    /// pass of its own; each loss matches the unfused step bit for bit at f32 and within <see cref="Tolerances.F16Storage"/>
    /// at f16 storage.
    /// </summary>
    [TestCase("mse", "sigmoid")]
    [TestCase("l1", "sigmoid")]
    [TestCase("huber", "tanh")]
    [TestCase("masked_mse", "leaky_relu")]
    [TestCase("masked_l1", "relu")]
    public void TheLossTakesTheActivationBeforeIt_AsTheUnfusedStep(string loss, string activation)
    {
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            var net = new Network();
            Layer act = activation switch { "relu" => new ReLU(), "sigmoid" => new Sigmoid(), "leaky_relu" => new LeakyReLU(0.2f), _ => new Tanh() };
            var y = net.Add(act, "act", net.Add(new Conv2d(5, 6, 3, padding: 1), "conv1", net.Input("x")));
            net.Output(y, "y");
            var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 5, 7, 9), ["target"] = new(2, 6, 7, 9) };
            if (loss.StartsWith("masked", StringComparison.Ordinal))
            {
                shapes["mask"] = new(2, 1, 7, 9);
                net.SetLoss(loss == "masked_mse" ? new MaskedMseLoss() : new MaskedL1Loss(), y, net.Input("target"), net.Input("mask"));
            }
            else net.SetLoss(loss switch { "mse" => new MseLoss(), "l1" => new L1Loss(), _ => new HuberLoss(0.3f) }, y, net.Input("target"));
            var fused = Step(net, shapes, true, precision, texelReads: false, out var plan, Flipped);
            var plain = Step(net, shapes, false, precision, texelReads: false, out var plainPlan, Flipped);
            Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartWith("elementwise/unary.bwd"), Kernels(plan));
            Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.One.StartWith("elementwise/unary.bwd"), Kernels(plainPlan));
            foreach (var (name, values) in plain)
            {
                Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
                if (precision == Precision.Fp32) Assert.That(fused[name], Is.EqualTo(values).AsCollection, $"{precision} {name}");
                else F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, $"{precision} {name}");
            }
        }
    }

    /// <summary>An activation's output read twice (by conv2 and a skip Add) sums its gradient's parts: its own pass stays.</summary>
    [Test]
    public void AnOutputReadTwice_KeepsItsPass()
    {
        var (net, shapes) = Chain(new Tanh(), skip: true);
        var fused = Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Flipped);
        var plain = Step(net, shapes, false, Precision.Fp32, texelReads: false, out _, Flipped);
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.EqualTo(Dact), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("conv1.act.bwd"));
        foreach (var (name, values) in plain) Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
    }

    /// <summary>With texel reads (lavapipe's default: the direct kernel's .texel form, which has no such variant) and with
    /// the gather input gradient (lavapipe's pick), the plan is as before: the activation's own pass.</summary>
    [TestCase(true, Flipped)]
    [TestCase(false, null)]
    public void WithoutTheVariant_TheActivationKeepsItsPass(bool texelReads, string? prefer)
    {
        var (net, shapes) = Chain(new ReLU());
        Step(net, shapes, true, Precision.Fp32, texelReads, out var plan, prefer == null ? Array.Empty<string>() : new[] { prefer });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.Contains(".dact"), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("conv1.act.bwd"));
    }

    /// <summary>
    /// A decoder whose upsampled input is a conv and ReLU: its gradient by sub-pixel phase (the 4x4, stride-2 convolution
    /// of dY) leaves through the ReLU's derivative; the step matches the unfused plan's within 1e-5 of the largest value
    /// (the sub-pixel sums run in another order).
    /// </summary>
    [Test]
    public void SubPixelDecoder_TheUpsampledInputsGradientTakesTheActivation()
    {
        var net = new Network();
        var low = net.Add(new ReLU(), "act", net.Add(new Conv2d(5, 6, 3, padding: 1), "conv1", net.Input("x")));
        var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up", low), net.Input("skip"));
        var y = net.Add(new Conv2d(10, 8, 3, padding: 1), "conv2", cat);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 5, 4, 5), ["skip"] = new(2, 4, 8, 10), ["target"] = new(2, 8, 8, 10) };
        var fused = Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Flipped);
        var plain = Step(net, shapes, false, Precision.Fp32, texelReads: false, out _, Flipped);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input.low").Kernel, Is.EqualTo(Dact), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("elementwise/unary.bwd"));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            F16StorageCheck.Close(fused[name], values, 1e-5, name);
        }
    }

    /// <summary>
    /// An encoder level: x -> conv1 -> act, read by a 2x2 max pool (-> conv2 -> 2x upsample) and by the decoder's concat
    /// (-> conv3). The pool's backward pass adds the decoder's part and takes the activation's derivative: no pass of
    /// the activation's own, and the step is the unfused plan's bit for bit at f32 (with the decoder in its 3x3 form,
    /// SubPixelDecoders off, whose sums the unfused plan shares), through the pool's 4-wide and one-element forms; an
    /// average pool keeps the pass.
    /// </summary>
    [TestCase(8, 8, "max", "relu")]
    [TestCase(6, 10, "max", "tanh")]
    [TestCase(8, 8, "average", "relu")]
    public void EncoderOutput_ThePoolsGradientTakesTheActivationAndTheDecodersPart(int h, int w, string pool, string activation)
    {
        var net = new Network();
        var a = net.Add(activation == "relu" ? new ReLU() : new Tanh(), "act", net.Add(new Conv2d(3, 8, 3, padding: 1), "conv1", net.Input("x")));
        var pooled = net.Add(pool == "max" ? new MaxPool2d(2) : new AvgPool2d(2), "pool", a);
        var up = net.Add(new Upsample(2), "up", net.Add(new Conv2d(8, 8, 3, padding: 1), "conv2", pooled));
        var y = net.Add(new Conv2d(16, 4, 3, padding: 1), "conv3", net.Add(new Concat(), "cat", up, a));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, h, w), ["target"] = new(2, 4, h, w) };
        var fused = Step(net, shapes, true, Precision.Fp32, texelReads: false, subPixel: false, LossScaling.Off, out var plan);
        var plain = Step(net, shapes, false, Precision.Fp32, texelReads: false, subPixel: false, LossScaling.Off, out _);
        bool takes = pool == "max";
        Assert.That(plan.Dispatches.Select(d => d.Label), takes ? Has.None.EqualTo("conv1.act.bwd") : Has.Some.EqualTo("conv1.act.bwd"), Kernels(plan));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
        }
    }

    /// <summary>
    /// A transposed convolution (an autoencoder's decoder) reading a conv-transpose and ReLU: its input gradient, a strided
    /// forward convolution of dY, takes the derivative; the step is the unfused plan's bit for bit at f32.
    /// </summary>
    [Test]
    public void ConvTranspose_TheInputGradientTakesTheActivation()
    {
        var net = new Network();
        var a = net.Add(new ReLU(), "act", net.Add(new ConvTranspose2d(4, 8, 4, 2, 1), "up1", net.Input("x")));
        var y = net.Add(new ConvTranspose2d(8, 3, 4, 2, 1), "up2", a);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 3, 5), ["target"] = new(2, 3, 12, 20) };
        var fused = Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan);
        var plain = Step(net, shapes, false, Precision.Fp32, texelReads: false, out _);
        Assert.That(plan.Dispatches.Single(d => d.Label == "up2.bwd_input").Kernel, Is.EqualTo(Dact), Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("up1.act.bwd"));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
        }
    }
}
