using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// CompileOptions.Autotune with the convolution weight gradient's candidates (ConvWeightGrad): each entry's candidates
/// are timed, a split one (partial sums, then their ordered sum) with its second pass, and checked against the plain
/// f32 kernel's result before it may be chosen; the tuned gradient matches the untuned one.
/// </summary>
public sealed class WeightGradAutotuneTests
{
    // 4 -> 16 channels at 16x16, one image: the tiled kernel (named: a GPU's entry) reduces its 256 pixels in one pass,
    // the direct kernel splits its 16 rows four ways. A split candidate timed without its sum would leave its output at
    // zero and be rejected against the tiled kernel's.
    static readonly Conv2d Layer = new(4, 16, 3, padding: 1);
    static readonly Shape XShape = new(1, 4, 16, 16);

    [Test]
    public void SplitAndSinglePassCandidatesAreTimedAndAgree()
    {
        Assert.That(Plan(nameof(Conv2dWeightGradDirect)), Does.Contain("reduce/partials"), "the direct kernel splits this layer");
        Assert.That(Plan(nameof(Conv2dWeightGradTiled)), Does.Not.Contain("reduce/partials"), "the tiled kernel does not");

        var dir = Path.Combine(Path.GetTempPath(), "kiln-wgrad-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var x = FixtureLayer.Uniform(XShape.Elements, 41);
            var gy = FixtureLayer.Uniform(Layer.OutputShape(new[] { XShape }).Elements, 42);
            var untuned = LayerHarness.Run(Gpu.Context, Layer, new[] { XShape }, new[] { x }, null, gy);
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var tuned = WeightGradient(ctx, x, gy);
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(2), "the forward and the weight gradient");
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the tiled kernel");
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            Assert.That(choices, Does.Contain("conv2d.bwd_weight|Conv2dWeightGradTiled+Conv2dWeightGradDirect|Fp32|"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            Assert.That(Reference.RelativeError.MaxRelative(tuned, untuned.ParameterGradients["weight"]), Is.LessThan(Tolerances.Forward));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The untuned plan's dispatches of the weight gradient with <paramref name="entry"/> named.</summary>
    static string Plan(string entry)
    {
        var plan = Network().Plan(Gpu.Context.KernelDevice, Options(autotune: false, entry));
        return string.Join(", ", plan.Dispatches.Where(d => d.Label.StartsWith("conv.bwd_weight", StringComparison.Ordinal)).Select(d => d.Kernel));
    }

    static float[] WeightGradient(GpuContext ctx, float[] x, float[] gy)
    {
        using var compiled = Network().Compile(ctx, Options(autotune: true, nameof(Conv2dWeightGradTiled)));
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Run();
        return compiled.Gradients["conv.weight"].ToArray(); // dW depends on x and dY alone
    }

    static Network Network()
    {
        var net = new Network();
        var y = net.Add(Layer, "conv", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        return net;
    }

    static CompileOptions Options(bool autotune, string prefer) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = XShape, ["grad_y"] = Layer.OutputShape(new[] { XShape }) },
        Training = true,
        LearningRate = 0,
        Fuse = false,
        Autotune = autotune,
        PreferKernels = new[] { prefer },
        // NCHW only: left to the compile, the channels-last plan's shapes would be timed too.
        ActivationLayout = TensorLayout.Nchw,
    };
}
