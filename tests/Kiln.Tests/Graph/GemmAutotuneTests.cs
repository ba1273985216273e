using Kiln.Layers;
using Kiln.Tests.CoopMat;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// CompileOptions.Autotune with Linear's products (LinearProducts): the forward, dX and dW of two layers, each 17M
/// multiply-adds (just over LinearProducts.MinTunedWork), are each timed among the register-blocked kernel's block sizes
/// (single-pass, and split where the plan splits: fc0's dW over the batch), every candidate checked against
/// the default's result before it may be chosen, and the tuned step matches the untuned one.
/// </summary>
public sealed class GemmAutotuneTests
{
    internal const int Batch = 512;

    internal static Network Network()
    {
        var net = new Network();
        // Tanh, not ReLU: with f16 operands a pre-activation near zero may change sign, and a ReLU unit's gradient with it.
        var h = net.Add(new Tanh(), "tanh", net.Add(new Linear(160, 208), "fc0", net.Input("x")));
        var y = net.Add(new Linear(208, 160, bias: false), "fc1", h);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        return net;
    }

    /// <summary>The step's output and (unscaled) gradients, and the plan's kernels, on <paramref name="ctx"/>.</summary>
    internal static (Dictionary<string, float[]> Results, string[] Kernels) Step(GpuContext ctx, bool autotune, Precision precision, params string[] prefer)
    {
        using var c = Network().Compile(ctx, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(Batch, 160), ["t"] = new Shape(Batch, 160) },
            Training = true, LearningRate = 0, Autotune = autotune, Precision = precision, Seed = 5, PreferKernels = prefer,
        });
        c.SetInput("x", RandomData.Uniform(Batch * 160, 1).Select(v => (float)v).ToArray());
        c.SetInput("t", RandomData.Uniform(Batch * 160, 2).Select(v => (float)v).ToArray());
        c.Run();
        // Under Fp16 the gradients are the loss-scaled ones (MSE's small deltas stay within f16's normal range).
        float scale = c.ReadStepState().LossScale;
        var results = c.Gradients.ToDictionary(g => $"gradient of {g.Key}", g => g.Value.ToArray().Select(v => v / scale).ToArray());
        results["output"] = c.GetOutput("y");
        return (results, c.Plan.Dispatches.Select(d => d.Kernel).ToArray());
    }

    /// <summary>Runs <paramref name="tuned"/> on a context of its own (its own tuning file), returning the tuning file's text.</summary>
    internal static string Tuned(Action<GpuContext> tuned, int timed)
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-gemm-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            tuned(ctx);
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(timed), "the products timed");
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the default");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            return File.Exists(ctx.Tuner.FilePath) ? File.ReadAllText(ctx.Tuner.FilePath!) : ""; // none where nothing was timed
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void EveryProductIsTuned_AndTheStepMatchesTheUntunedOne()
    {
        var (untuned, plain) = Step(Gpu.Context, false, Precision.Fp32);
        Assert.That(plain, Does.Contain("reduce/partials"), "the untuned dW splits the batch");
        Dictionary<string, float[]> tuned = null!;
        // Six shapes: both forwards, both dW, and fc1's dX through fc0's tanh twice (the plain product with the activation,
        // then, single-pass, in its .dact form).
        var choices = Tuned(ctx => tuned = Step(ctx, true, Precision.Fp32).Results, timed: 6);
        Assert.That(choices, Does.Contain("linear.gemm.dact|"));
        Assert.That(choices, Does.Contain("linear.gemm|LinearGemm|Fp32|"));
        foreach (var (name, values) in untuned)
            Assert.That(RelativeError.MaxRelative(tuned[name], values.Select(v => (double)v).ToArray()), Is.LessThan(Tolerances.Forward), name);
    }

    /// <summary>
    /// A forward with few output blocks and a long K (64 x 64 outputs over 4096 inputs, with bias and ReLU) is timed with
    /// its split default first: the tuner's finish adds the bias and applies the activation as the graph's does, so the
    /// single-pass candidates agree with it (none rejected) and the tuned output is the untuned one.
    /// </summary>
    [Test]
    public void SplitForward_WithBiasAndActivation_IsTimedWithItsWholeFinish()
    {
        var net = new Network();
        net.Output(net.Add(new ReLU(), "relu", net.Add(new Linear(4096, 64), "fc", net.Input("x"))), "y");
        var x = RandomData.Uniform(64 * 4096, 3).Select(v => (float)v - 0.5f).ToArray();
        (float[] Y, string[] Kernels) Run(GpuContext ctx, bool autotune)
        {
            using var c = net.Compile(ctx, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(64, 4096) }, Autotune = autotune });
            c.SetInput("x", x);
            c.Run();
            return (c.GetOutput("y"), c.Plan.Dispatches.Select(d => d.Kernel).ToArray());
        }
        var (untuned, kernels) = Run(Gpu.Context, false);
        Assert.That(kernels, Does.Contain("reduce/partials"), "the untuned forward splits K");
        float[] tuned = null!;
        var choices = Tuned(ctx => tuned = Run(ctx, true).Y, timed: 1);
        Assert.That(choices, Does.Contain("|64x64x4096|ABt|f32,f32,f32|bias|ReLU"));
        Assert.That(untuned.Max(), Is.GreaterThan(0f), "some units are active");
        Assert.That(RelativeError.MaxRelative(tuned, untuned.Select(v => (double)v).ToArray()), Is.LessThan(Tolerances.Forward));
    }

    /// <summary>
    /// The same forward under Fp16, whose output is an f16 activation: the split candidates are timed too, each as the graph
    /// dispatches it (the product into f32 partials, then the ordered sum with bias and ReLU into the f16 output through
    /// reduce/partials' f16 build), the split default first; none is rejected, and the tuned output is the untuned one
    /// within the f16-storage tolerance.
    /// </summary>
    [Test]
    public void SplitForward_IntoAnF16Activation_IsTimedToo()
    {
        string timed = TimeSplitForwardAtFp16(Gpu.Context);
        Assert.That(System.Text.RegularExpressions.Regex.IsMatch(timed, @"LinearGemm:b\d+x\d+s\d+ [\d.]+"), timed);
    }

    /// <summary>
    /// Tunes a 64x64x4096 Linear forward with bias and ReLU at Fp16 (the untuned one, on <paramref name="untunedOn"/>, splits K and
    /// sums into f16) on a context of its own with KILN_TUNING_TRACE on, <paramref name="prefer"/> named: one shape timed,
    /// none rejected, the tuned output within the f16-storage tolerance of the untuned one. Returns the trace's line of
    /// candidate times.
    /// </summary>
    internal static string TimeSplitForwardAtFp16(GpuContext untunedOn, params string[] prefer)
    {
        var net = new Network();
        net.Output(net.Add(new ReLU(), "relu", net.Add(new Linear(4096, 64), "fc", net.Input("x"))), "y");
        var x = RandomData.Uniform(64 * 4096, 3).Select(v => (float)v - 0.5f).ToArray();
        (float[] Y, string[] Kernels) Run(GpuContext ctx, bool autotune)
        {
            using var c = net.Compile(ctx, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(64, 4096) }, Autotune = autotune, Precision = Precision.Fp16,
                PreferKernels = prefer,
            });
            c.SetInput("x", x);
            c.Run();
            return (c.GetOutput("y"), c.Plan.Dispatches.Select(d => d.Kernel).ToArray());
        }
        var (untuned, kernels) = Run(untunedOn, false);
        Assert.That(kernels, Does.Contain("reduce/partials.f16"), "the untuned forward splits K and sums into f16");
        var traced = new List<string>();
        float[] tuned = null!;
        string? before = Environment.GetEnvironmentVariable("KILN_TUNING_TRACE");
        Environment.SetEnvironmentVariable("KILN_TUNING_TRACE", "1"); // read when a context's tuner is made
        var dir = Path.Combine(Path.GetTempPath(), "kiln-gemm-autotune-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = m => { lock (traced) traced.Add(m); } });
            tuned = Run(ctx, true).Y;
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1), "the product timed");
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the split default");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KILN_TUNING_TRACE", before);
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
        var line = traced.SingleOrDefault(m => m.StartsWith("tuning linear.gemm|"));
        Assert.That(line, Is.Not.Null, string.Join("\n", traced));
        Assert.That(line, Does.Contain("|Fp16|").And.Contain("|64x64x4096|ABt|f16,f32,f16|bias|ReLU:"));
        F16StorageCheck.Close(tuned, untuned, Tolerances.F16Storage, "output");
        return line!;
    }

    /// <summary>A product under LinearProducts.MinTunedWork multiply-adds runs its default without being timed.</summary>
    [Test]
    public void SmallProducts_AreNotTimed()
    {
        var net = new Network();
        var y = net.Add(new Linear(37, 61), "fc", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        Tuned(ctx =>
        {
            using var c = net.Compile(ctx, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(700, 37), ["t"] = new Shape(700, 61) }, Training = true, Autotune = true,
            });
            c.Run();
        }, timed: 0);
    }
}
