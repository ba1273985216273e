using Kiln.Cli.SelfTest;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`kiln selftest` passes on the device at hand, and does notice a kernel that disagrees with its reference.</summary>
public sealed class SelfTestTests : GpuTest
{
    [Test]
    public void PassesOnThisDevice()
    {
        // One case an operation: the kernels' numerics are this suite's other tests; this one checks the command, and on
        // lavapipe each random shape is pipelines to compile (three cases took six minutes with the shader cache cold).
        var r = CliRun.Run("selftest", "--cases", "1", "--seed", "7");
        Assert.That(r.Code, Is.Zero, r.Stdout + r.Stderr);
        Assert.That(r.Stderr, Is.Empty);
        foreach (var op in new[] { "conv2d", "conv_act_grad", "conv_pool", "conv_pool_grad", "conv_transpose2d", "decoder_conv", "linear", "linear_act_grad", "loss", "mlp", "pool2d", "upsample", "upsample_concat" })
            Assert.That(r.Stdout, Does.Match($@"(?m)^{op}\s"), op);
        Assert.That(r.Stdout, Does.Not.Contain("FAIL"));
        // The MLP check runs its 3 shapes through every fused-MLP kernel entry the device supports.
        int mlpEntries = Kiln.Graph.KernelRegistry.All.OfType<Kiln.Layers.IMlpKernels>().Count(k => k.Supports(Context.KernelDevice));
        bool tensorCores = Context.KernelDevice.CooperativeMatrixF16Size > 0;
        Assert.That(mlpEntries, Is.EqualTo(tensorCores ? 3 : 2), "the per-row and the tile kernels, and the tensor-core ones where the device has them");
        Assert.That(r.Stdout, Does.Contain("mlp/mlp.tile.bwd"));
        if (tensorCores) Assert.That(r.Stdout, Does.Contain("mlp/mlp.coopmat.bwd.f16"), "checked at fp16");
        // Every case once, and the conv cases the tiled and Winograd convolutions take (entries that run only under tuning)
        // again with each named: the Winograd kernel outranks the tiled one, which has a round of its own.
        Assert.That(r.Stdout, Does.Contain("conv2d/conv2d.fwd_tiled"));
        Assert.That(r.Stdout, Does.Contain("conv2d/conv2d.fwd_winograd"));
        int atLeast = KernelCheck.All.Sum(c => c.Cases(new Random(7), 1).Count()) + 3 * mlpEntries;
        var summary = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"(\d+) of (\d+) passed");
        Assert.That(summary.Success, r.Stdout);
        Assert.That(summary.Groups[1].Value, Is.EqualTo(summary.Groups[2].Value), "all passed");
        Assert.That(int.Parse(summary.Groups[2].Value), Is.GreaterThan(atLeast), "the tiled convolution's extra rows");
    }

    /// <summary>--budget stops it before a case that would start past the budget: the last line counts what ran and names what
    /// did not, exit code 3 (nothing failed, not everything ran); a bad budget is a usage error (2).</summary>
    [Test]
    public void ABudgetStopsItAndSaysWhatItDidNotReach()
    {
        var r = CliRun.Run("selftest", "pool2d", "upsample", "--cases", "1", "--budget", "0.001");
        Assert.That(r.Code, Is.EqualTo(3), r.Stdout + r.Stderr);
        var last = r.Stdout.TrimEnd().Split('\n')[^1];
        Assert.That(last, Does.StartWith("0 of 0 passed; --budget 0 s spent after").And.EndWith("not checked (or not all of it): pool2d, upsample, upsample_concat"));
        var bad = CliRun.Run("selftest", "--budget", "-3");
        Assert.That(bad.Code, Is.EqualTo(2));
        Assert.That(bad.Stderr, Does.Contain("--budget takes a positive number of seconds"));
    }

    /// <summary>Under --budget the operations take turns, a case each, so a budget spent compiling still reaches all of them.</summary>
    [Test]
    public void UnderABudgetTheOperationsTakeTurns()
    {
        var r = CliRun.Run("selftest", "pool2d", "upsample", "--cases", "1", "--budget", "600");
        Assert.That(r.Code, Is.Zero, r.Stdout + r.Stderr);
        var operations = r.Stdout.Split('\n').Skip(2).Select(l => l.Split(' ')[0]).Where(o => o is "pool2d" or "upsample" or "upsample_concat").ToList();
        Assert.That(operations.Take(3), Is.EqualTo(new[] { "pool2d", "upsample", "upsample_concat" }), r.Stdout);
        Assert.That(operations.Distinct().Count(), Is.EqualTo(3));
    }

    /// <summary>
    /// The decoder check compiles its three layers with the fusions on, so a training plan takes the sub-pixel gradients
    /// (their derived weights and the fold of the weight gradient); the skip input's gradient is compared too: one wrong
    /// element of it fails the check.
    /// </summary>
    [Test]
    public void TheDecoderCheckRunsTheSubPixelGradientsAndComparesTheSkipInputsGradient()
    {
        var good = new DecoderConvCheck().Cases(new Random(3), 1).Single();
        Assert.That(good.Fused, Is.True);
        var ok = SelfTestRunner.Run(Context, "decoder_conv", good, new Random(5));
        Assert.That(ok.Passed, Is.True, $"{ok.ForwardError} {ok.GradientError} {ok.Error}");
        Assert.That(ok.Kernels, Does.Contain("conv2d/conv2d.subpixel_weight_grad").And.Contain("conv2d/conv2d.subpixel_weight"));

        var skewed = SelfTestRunner.Run(Context, "decoder_conv", good with
        {
            Reference = (x, w, b, gy) =>
            {
                var r = good.Reference(x, w, b, gy);
                Assert.That(r.GradX, Has.Length.EqualTo(x.Length), "the reference gives the skip input's gradient after x's");
                var gx = (double[])r.GradX.Clone();
                gx[^1] += 0.01 * gx.Max(Math.Abs);
                return r with { GradX = gx };
            },
        }, new Random(5));
        Assert.That(skewed.Passed, Is.False, "the last element is the skip input's");
        Assert.That(skewed.GradientError, Is.GreaterThan(SelfTestTolerances.Gradient(Precision.Fp32)));
    }

    /// <summary>
    /// The activation-gradient check, where the input gradient's kernel has the ".dact" variant (storage-buffer reads,
    /// the flipped input gradient named: the direct kernel), runs it and passes at both precisions; with lavapipe's
    /// texel reads the activation's own pass runs instead, and passes too.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void TheActivationGradientCheckRunsTheDactVariant(Precision precision)
    {
        var shape = (1, 3, 12, 9, 8, Activation.Tanh);
        string[] flipped = { nameof(Kiln.Layers.Conv2dInputGradFlipped) };
        string f16 = precision == Precision.Fp16 ? ".f16" : "";
        var fused = ActivationGradientCheck.Check(Context, shape, precision, flipped, new Random(5), texelReads: false);
        Assert.That(fused.Passed, Is.True, $"{fused.ForwardError} {fused.GradientError} {fused.Error}");
        Assert.That(fused.Kernels, Does.Contain("conv2d/conv2d.fwd.dact" + f16).And.Not.Contains("unary.bwd"));
        var texel = ActivationGradientCheck.Check(Context, shape, precision, flipped, new Random(5));
        Assert.That(texel.Passed, Is.True, $"{texel.ForwardError} {texel.GradientError} {texel.Error}");
        Assert.That(texel.Kernels, Does.Contain("elementwise/unary.bwd" + f16).And.Not.Contains(".dact"));
    }

    /// <summary>
    /// The pool-gradient check, where the input gradient's kernel has the ".unpool" variant (storage-buffer reads, the
    /// flipped input gradient named: the direct kernel), runs it and passes at both precisions; with lavapipe's texel
    /// reads the pool's and the activation's own passes run instead, and pass too.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void ThePoolGradientCheckRunsTheUnpoolVariant(Precision precision)
    {
        var shape = (2, 3, 12, 10, 8, Activation.Sigmoid);
        string[] flipped = { nameof(Kiln.Layers.Conv2dInputGradFlipped) };
        string f16 = precision == Precision.Fp16 ? ".f16" : "";
        var fused = ActivationGradientCheck.Check(Context, shape, precision, flipped, new Random(5), texelReads: false, pool: true);
        Assert.That(fused.Passed, Is.True, $"{fused.ForwardError} {fused.GradientError} {fused.Error}");
        Assert.That(fused.Operation, Is.EqualTo("conv_pool_grad"));
        Assert.That(fused.Kernels, Does.Contain("conv2d/conv2d.fwd.unpool" + f16).And.Not.Contains("pool.bwd").And.Not.Contains("unary.bwd"));
        var texel = ActivationGradientCheck.Check(Context, shape, precision, flipped, new Random(5), pool: true);
        Assert.That(texel.Passed, Is.True, $"{texel.ForwardError} {texel.GradientError} {texel.Error}");
        Assert.That(texel.Kernels, Does.Contain("pool/pool.bwd" + f16).And.Not.Contains(".unpool"));
    }

    /// <summary>A reference that is off by 0.1% in one output element must fail the forward check; one wrong gradient element the gradient check.</summary>
    [Test]
    public void FailsWhenTheKernelDisagreesWithTheReference()
    {
        var good = new LinearCheck().Cases(new Random(3), 1).Single();
        CheckCase Skewed(Func<ReferenceResult, ReferenceResult> skew) => good with { Reference = (x, w, b, gy) => skew(good.Reference(x, w, b, gy)) };
        var ok = SelfTestRunner.Run(Context, "linear", good, new Random(5));
        Assert.That(ok.Passed, Is.True, $"{ok.ForwardError} {ok.GradientError} {ok.Error}");
        Assert.That(ok.Kernels, Does.Contain("linear/linear.gemm"));

        var fwd = SelfTestRunner.Run(Context, "linear", Skewed(r =>
        {
            var y = (double[])r.Y.Clone();
            int i = Array.IndexOf(y, y.MaxBy(Math.Abs));
            y[i] *= 1.001;
            return r with { Y = y };
        }), new Random(5));
        Assert.That(fwd.Passed, Is.False);
        Assert.That(fwd.ForwardError, Is.GreaterThan(SelfTestTolerances.Forward(Precision.Fp32)));

        var grad = SelfTestRunner.Run(Context, "linear", Skewed(r =>
        {
            var gw = (double[])r.GradW!.Clone();
            gw[^1] += 0.01 * gw.Max(Math.Abs);
            return r with { GradW = gw };
        }), new Random(5));
        Assert.That(grad.Passed, Is.False);
        Assert.That(grad.GradientError, Is.GreaterThan(SelfTestTolerances.Gradient(Precision.Fp32)));
    }
    /// <summary>
    /// A case's rounds planned and their pipelines created at once (SelfTestRunner.Prewarm) are every pipeline its runs
    /// then compile: after the warm-up the runs create none (a fresh context, so no other test's pipelines count), and
    /// they pass. A case the compiler refuses (its run reports why) adds nothing and throws nothing.
    /// </summary>
    [Test]
    public void PrewarmCreatesThePipelinesTheCasesRoundsCompile()
    {
        var c = new ConvPoolCheck().Cases(new Random(3), 1).First(k => k.KeepLayerOutput);
        var rounds = new (Precision, string[]?, TensorLayout)[]
        {
            (Precision.Fp32, null, TensorLayout.Nchw), (Precision.Fp32, new[] { "Conv2dWinograd" }, TensorLayout.Nchw),
            (Precision.Fp32, null, TensorLayout.Nhwc),
        };
        using var context = GpuContext.Create(Gpu.Options);
        int before = context.Pipelines.Count;
        SelfTestRunner.Prewarm(context, c, rounds);
        int warmed = context.Pipelines.Count;
        Assert.That(warmed, Is.GreaterThan(before + 3), "the conv, pool and weight passes of three plans");
        foreach (var (precision, prefer, layout) in rounds)
        {
            var r = SelfTestRunner.Run(context, "conv_pool", c, new Random(5), precision, prefer, layout);
            Assert.That(r.Passed, Is.True, $"{r.Case} {r.Kernels} {r.Error}");
        }
        Assert.That(context.Pipelines.Count, Is.EqualTo(warmed), "the runs compiled nothing new");
        var refused = c with { Input = new Shape(1, 5, 20, 36) }; // 5 channels into a 16-channel convolution
        Assert.That(SelfTestRunner.Run(context, "conv_pool", refused, new Random(5)).Passed, Is.False, "the compiler refuses it");
        Assert.DoesNotThrow(() => SelfTestRunner.Prewarm(context, refused, rounds));
        Assert.That(context.TakeValidationMessages(), Is.Empty);
    }
}
