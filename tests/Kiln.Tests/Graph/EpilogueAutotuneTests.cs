using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// Under CompileOptions.Autotune a fused epilogue's kernel is chosen in its variant's form: the candidates that have the
/// variant (".dact", ".pool.keep", ".unpool", a phased ".dact", Linear's ".dact") are timed as that variant, on its own
/// bindings, and each one's results are checked against the reference entry's variant (<see cref="ConvForward.ChooseEpilogue"/>),
/// so a variant the tuner picks has run on the device first. On lavapipe, with storage-buffer reads and the GPU's input
/// gradient entries named: the tuning file holds the variants' keys, no candidate is rejected, the plan still runs every
/// epilogue, and the tuned step matches the untuned one within <see cref="Tolerances.Forward"/>.
/// </summary>
public sealed class EpilogueAutotuneTests : GpuTest
{
    /// <summary>conv1 (sigmoid) -> 2x2 max pool -> conv2 (tanh) -> mid (ReLU) -> down, stride 2 (ReLU; 16 channels each side, as the phased input gradient takes) -> Flatten -> fc1 (tanh)
    /// -> fc2 -> MSE: conv1's kernel keeps its output and pools it (.pool.keep), conv2's input gradient writes the pool's
    /// (.unpool), mid's takes conv2's tanh (.dact), down's by phase mid's ReLU (.phases.dact), fc1's down's ReLU through the
    /// Flatten (a split's finish), fc2's fc1's tanh (linear.gemm.dact). Small: lavapipe times every candidate.</summary>
    static (Network Net, Dictionary<string, Shape> Shapes) Network()
    {
        var net = new Network();
        var a = net.Add(new Sigmoid(), "act1", net.Add(new Conv2d(3, 8, 3, padding: 1), "conv1", net.Input("x")));
        var b = net.Add(new Tanh(), "act2", net.Add(new Conv2d(8, 16, 3, padding: 1), "conv2", net.Add(new MaxPool2d(2), "pool", a)));
        b = net.Add(new ReLU(), "act3", net.Add(new Conv2d(16, 16, 3, padding: 1), "mid", b));
        var c = net.Add(new ReLU(), "act4", net.Add(new Conv2d(16, 16, 3, stride: 2, padding: 1), "down", b));
        var h = net.Add(new Tanh(), "act5", net.Add(new Linear(16 * 2 * 2, 64), "fc1", net.Add(new Flatten(), "flat", c)));
        var y = net.Add(new Linear(64, 5), "fc2", h);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, new Dictionary<string, Shape> { ["x"] = new(2, 3, 8, 8), ["target"] = new(2, 5) });
    }

    [Test]
    public void EpilogueVariantsAreTimedAsThemselves_AndTheStepMatchesTheUntunedOne()
    {
        var (net, shapes) = Network();
        var options = new CompileOptions
        {
            InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, Precision = Precision.Fp32, TexelReads = false,
            LossScaling = LossScaling.Off, ActivationLayout = TensorLayout.Nchw, Autotune = false, FuseMlp = false,
            PreferKernels = new[] { nameof(Conv2dInputGradFlipped), nameof(Conv2dInputGradPhases) },
        };
        var untuned = ActivationGradientFusionTests.Step(Context, net, options, out var plain);
        string plainKernels = ActivationGradientFusionTests.Kernels(plain);
        Assert.That(plainKernels, Does.Contain(".pool.keep").And.Contain(".unpool").And.Contain(".phases.dact").And.Contain("linear/linear.gemm.dact"));

        var dir = Path.Combine(Path.GetTempPath(), "kiln-epilogue-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var tuned = ActivationGradientFusionTests.Step(ctx, net, options with { Autotune = true }, out var plan);
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every variant agrees with the reference entry's");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            // (The phased gradient's one-dispatch kernel has a single tile here: nothing to time, no key.)
            foreach (var key in new[] { "conv2d.fwd.pool.keep|", "conv2d.fwd.unpool|", "conv2d.fwd.dact|" })
                Assert.That(choices, Does.Contain(key), key);
            string kernels = ActivationGradientFusionTests.Kernels(plan);
            Assert.That(kernels, Does.Contain(".pool.keep").And.Contain(".unpool").And.Contain(".phases.dact"), "every epilogue still runs");
            Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartWith("elementwise/unary.bwd"), kernels);
            foreach (var (name, values) in untuned)
                Assert.That(RelativeError.MaxRelative(tuned[name], values.Select(v => (double)v).ToArray()), Is.LessThan(Tolerances.Forward), name);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Linear's input gradient through the activation before, tuned (a product over the tuner's minimum work):
    /// timed as ".dact" under its own key, the single-pass candidates only, and the step is the untuned one's.</summary>
    [Test]
    public void LinearActivationGradient_IsTimedAsItsVariant()
    {
        var (net, shapes) = LinearActivationGradientTests.Mlp(new Tanh(), 256, 64, 256, 256);
        var options = new CompileOptions
        {
            InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0, Precision = Precision.Fp32, TexelReads = false,
            LossScaling = LossScaling.Off, Autotune = false, FuseMlp = false,
        };
        var untuned = ActivationGradientFusionTests.Step(Context, net, options, out _);
        var dir = Path.Combine(Path.GetTempPath(), "kiln-epilogue-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var tuned = ActivationGradientFusionTests.Step(ctx, net, options with { Autotune = true }, out var plan);
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("linear.gemm.dact|"));
            Assert.That(plan.Dispatches.Single(d => d.Label == "fc2.bwd_input").Kernel, Does.EndWith(".dact"), ActivationGradientFusionTests.Kernels(plan));
            foreach (var (name, values) in untuned)
                Assert.That(RelativeError.MaxRelative(tuned[name], values.Select(v => (double)v).ToArray()), Is.LessThan(Tolerances.Forward), name);
        }
        finally { Directory.Delete(dir, true); }
    }
}
