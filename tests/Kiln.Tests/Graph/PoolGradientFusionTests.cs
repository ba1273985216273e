using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// A 2x2, stride-2 max pool read by a convolution: in a training step the convolution's input gradient writes the pool's
/// input gradient itself (<see cref="PoolGradient"/>, the ".unpool" variant of the forward kernel the flipped input
/// gradient runs on), so the pooled gradient is never stored and the pool has no backward pass. On lavapipe with
/// storage-buffer reads and the flipped input gradient named (lavapipe's default, the gather, has no such variant), each
/// step matches the unfused step (Fuse = false: separate layers and passes) bit for bit at f32 and within
/// <see cref="Tolerances.F16Storage"/> at f16 storage; the channels-last step matches the NCHW one bit for bit.
/// </summary>
public sealed class PoolGradientFusionTests : GpuTest
{
    const string Flipped = nameof(Conv2dInputGradFlipped);

    /// <summary>
    /// The two-level UNet of the inpainting model (L1 loss): the encoder's second conv output (its ReLU folded) is read by
    /// the pool and by the decoder, so the pool's input gradient leaves through the ReLU's derivative with the decoder's
    /// part added (UNPOOL_SUM). The direct kernel (8 and 16 channels) and the Winograd kernel (16 and 32: it takes 16
    /// output channels or more; named).
    /// </summary>
    [TestCase(Precision.Fp32, 8, null, "conv2d/conv2d.fwd.unpool")]
    [TestCase(Precision.Fp16, 8, null, "conv2d/conv2d.fwd.unpool.f16")]
    [TestCase(Precision.Fp32, 16, nameof(Conv2dWinograd), "conv2d/conv2d.fwd_winograd.unpool")]
    [TestCase(Precision.Fp16, 16, nameof(Conv2dWinograd), "conv2d/conv2d.fwd_winograd.unpool.f16")]
    public void UNetStep_TheConvReadingThePoolWritesThePoolsGradient_AsTheUnfusedStep(Precision precision, int channels, string? forward, string kernel)
    {
        var net = Kiln.Models.InpaintUNet.BuildForTraining(channels, 2 * channels);
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 8, 12), ["target"] = new(2, 3, 8, 12) };
        var names = forward == null ? new[] { Flipped } : new[] { Flipped, forward };
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, precision, texelReads: false, subPixel: false, LossScaling.Off, out var plan, names);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, precision, texelReads: false, subPixel: false, LossScaling.Off, out var plainPlan, names);
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv2d_2.bwd_input+maxpool2d_0.bwd")?.Kernel, Is.EqualTo(kernel),
            ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/"));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv2d_2.bwd_input"));
        Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/pool.bwd"));
        Assert.That(plan.NaiveBytes, Is.LessThan(plainPlan.NaiveBytes), "the pooled gradient is never stored");
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            if (precision == Precision.Fp32) Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
            else F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
        }
    }

    /// <summary>
    /// The same UNet step channels-last on the Winograd kernel (named in both layouts): the pool's gradient in its
    /// .nhwc.unpool variant, the step bit for bit the NCHW one's at f32.
    /// </summary>
    [Test]
    public void UNetStep_ChannelsLast_Winograd_BitForBitTheNchwStep()
    {
        var net = Kiln.Models.InpaintUNet.BuildForTraining(16, 32);
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 8, 12), ["target"] = new(2, 3, 8, 12) };
        var names = new[] { Flipped, nameof(Conv2dWinograd), nameof(Conv2dWinogradNhwc) };
        var nchw = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, subPixel: false, LossScaling.Off,
            TensorLayout.Nchw, out var plan, names);
        var nhwc = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, subPixel: false, LossScaling.Off,
            TensorLayout.Nhwc, out var nhwcPlan, names);
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv2d_2.bwd_input+maxpool2d_0.bwd")?.Kernel, Is.EqualTo("conv2d/conv2d.fwd_winograd.unpool"),
            ActivationGradientFusionTests.Kernels(plan));
        Assert.That(nhwcPlan.Dispatches.SingleOrDefault(d => d.Label == "conv2d_2.bwd_input+maxpool2d_0.bwd")?.Kernel,
            Is.EqualTo("conv2d/conv2d.fwd_winograd.nhwc.unpool"), ActivationGradientFusionTests.Kernels(nhwcPlan));
        foreach (var (name, values) in nchw)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(nhwc[name], Is.EqualTo(values).AsCollection, name);
        }
    }

    /// <summary>x -> conv1 (5 -> 8, 3x3) -> <paramref name="act"/> (none: conv1's output pooled as it is) -> 2x2 pool ->
    /// conv2 (8 -> 6) -> tanh -> MSE: the pool's input has one reader, so no addend.</summary>
    static (Network Net, Dictionary<string, Shape> Shapes) PooledChain(Layer? act)
    {
        var net = new Network();
        Node a = net.Add(new Conv2d(5, 8, 3, padding: 1), "conv1", net.Input("x"));
        if (act != null) a = net.Add(act, "act", a);
        var y = net.Add(new Tanh(), "out", net.Add(new Conv2d(8, 6, 3, padding: 1), "conv2", net.Add(new MaxPool2d(2), "pool", a)));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, new Dictionary<string, Shape> { ["x"] = new(2, 5, 10, 14), ["target"] = new(2, 6, 5, 7) });
    }

    static IEnumerable<TestCaseData> Activations() =>
        ActivationGradientFusionTests.Activations().Append(new TestCaseData(null).SetArgDisplayNames("none"));

    /// <summary>
    /// A pool whose input conv1 writes, with each activation folded into it or none: the pool's input gradient (through the
    /// activation's derivative, no addend) comes from conv2's input gradient, bit for bit the unfused step at f32, and the
    /// channels-last step (the direct kernel's .nhwc.unpool) bit for bit the NCHW one (its loss within 1e-6: summed in NHWC order).
    /// </summary>
    [TestCaseSource(nameof(Activations))]
    public void OneReader_ThePoolsGradientThroughTheActivation_BitForBitTheUnfusedStep(Layer? act)
    {
        var (net, shapes) = PooledChain(act);
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Flipped);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out _, Flipped);
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv2.bwd_input+pool.bwd")?.Kernel, Is.EqualTo("conv2d/conv2d.fwd.unpool"),
            ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/").And.None.StartsWith("elementwise/unary.bwd"));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
        }

        var nhwc = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, subPixel: false, LossScaling.Off,
            TensorLayout.Nhwc, out var nhwcPlan, Flipped);
        Assert.That(nhwcPlan.Dispatches.SingleOrDefault(d => d.Label == "conv2.bwd_input+pool.bwd")?.Kernel, Is.EqualTo("conv2d/conv2d.fwd.nhwc.unpool"),
            ActivationGradientFusionTests.Kernels(nhwcPlan));
        // The MSE loss runs NHWC there too: its terms summed in another order.
        foreach (var (name, values) in fused)
            if (name == "loss") Assert.That(nhwc[name][0], Is.EqualTo(values[0]).Within(1e-6 * Math.Abs(values[0])), "channels-last: loss");
            else Assert.That(nhwc[name], Is.EqualTo(values).AsCollection, $"channels-last: {name}");
    }

    /// <summary>
    /// Ties and NaN: in every other window the top two input pixels are equal and above the rest in both channels, so
    /// conv1 (1x1, positive weights) gives the window a shared maximum (the gradient goes to the first in scan order, as
    /// pool.bwd sends it); an input NaN makes a NaN window. Bit for bit the unfused step's gradients, NaN where it has NaN.
    /// </summary>
    [Test]
    public void TiesAndNaN_GoWhereThePoolsOwnPassSendsThem()
    {
        var net = new Network();
        var a = net.Add(new Conv2d(2, 4, 1), "conv1", net.Input("x"));
        var y = net.Add(new Conv2d(4, 3, 3, padding: 1), "conv2", net.Add(new MaxPool2d(2), "pool", a));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, 2, 12, 16), ["target"] = new(1, 3, 6, 8) };
        Dictionary<string, float[]> Run(bool fuse, out PlanReport plan)
        {
            using var compiled = net.Compile(Context, new CompileOptions
            {
                InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, Fuse = fuse, TexelReads = false,
                PreferKernels = new[] { Flipped },
            });
            // 2 (above the random values) in both channels at the top two pixels of every other window: tied maxima. One NaN.
            var x = RandomData.Uniform((int)shapes["x"].Elements, 11)
                .Select((v, i) => i % 192 / 16 % 2 == 0 && i % 16 % 4 < 2 ? 2f : (float)v).ToArray();
            x[13] = float.NaN;
            compiled.SetInput("x", x);
            compiled.SetInput("target", RandomData.Uniform((int)shapes["target"].Elements, 12).Select(v => (float)v).ToArray());
            foreach (var (name, p) in compiled.Parameters)
                p.Upload(RandomData.Uniform((int)p.Shape.Elements, name.Length, 0.1, 0.5).Select(v => (float)v).ToArray());
            compiled.Run();
            plan = compiled.Plan;
            var result = compiled.Gradients.ToDictionary(g => $"grad {g.Key}", g => g.Value.ToArray());
            result["grad x"] = compiled.InputGradients["x"].ToArray();
            return result;
        }
        var fused = Run(true, out var plan);
        var plain = Run(false, out _);
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Does.Contain("conv2d/conv2d.fwd.unpool").And.None.StartsWith("pool/pool.bwd"));
        Assert.That(plain["grad x"].Any(float.IsNaN) && plain["grad x"].Any(v => !float.IsNaN(v) && v != 0), "NaN windows and finite ones");
        foreach (var (name, values) in plain) Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
    }
}
