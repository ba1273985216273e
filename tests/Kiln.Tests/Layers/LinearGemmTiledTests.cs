using Kiln.Layers;
using Kiln.Tests.Reference;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// LinearGemmTiled (shaders/linear/linear.gemm_tiled.comp, the GPU's shared-memory f32 GEMM for Linear's products), named
/// on lavapipe: the forward (B transposed, bias and ReLU in the epilogue), dX (plain) and dW (A transposed) against the
/// double CPU reference within Tolerances.Forward and Tolerances.Gradient, tiles cut by every edge; under Fp16 storage
/// (its .f16, .b_act and .c_float builds) against the f32 run within Tolerances.F16Storage; and tuned, every tile and
/// the split of K agreeing with the register-blocked kernel.
/// </summary>
public sealed class LinearGemmTiledTests : GpuTest
{
    static readonly string[] Named = { nameof(LinearGemmTiled) };

    // n, in, out, ReLU fused after
    [TestCase(37, 70, 45, true, TestName = "TiledLinear_EdgeTilesRelu")]
    [TestCase(130, 9, 200, false, TestName = "TiledLinear_ShortReduction")]
    [TestCase(5, 300, 3, true, TestName = "TiledLinear_FewRowsAndColumns")]
    public void MatchesReference(int n, int inF, int outF, bool relu)
    {
        var (y, gx, gw, gb, kernels) = Run(Context, n, inF, outF, relu, Precision.Fp32, autotune: false);
        foreach (var pass in new[] { "layer.fwd", "layer.bwd_input", "layer.bwd_weight" })
            Assert.That(kernels[pass], Is.EqualTo("linear/linear.gemm_tiled"), pass);

        var (x, w, b, gyIn) = Data(n, inF, outF);
        var pre = RefLinear.Forward(ConvTest.D(x), ConvTest.D(w), ConvTest.D(b), n, inF, outF);
        var expected = relu ? pre.Select(v => Math.Max(v, 0)).ToArray() : pre;
        var gPre = relu ? pre.Select((v, i) => v > 0 ? gyIn[i] : 0.0).ToArray() : ConvTest.D(gyIn);
        var (rx, rw, rb) = RefLinear.Backward(ConvTest.D(x), ConvTest.D(w), gPre, n, inF, outF);
        Assert.That(RelativeError.MaxRelative(y, expected), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(gx, rx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(gw, rw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(gb, rb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    /// <summary>Under Fp16 storage: f16 activations and gradients (A, and B in dW), f32 weights and weight gradients.</summary>
    [Test]
    public void F16StorageMatchesTheF32Run()
    {
        var f32 = Run(Context, 37, 70, 45, true, Precision.Fp32, autotune: false);
        var f16 = Run(Context, 37, 70, 45, true, Precision.Fp16, autotune: false);
        Assert.That(f16.Kernels["layer.fwd"], Is.EqualTo("linear/linear.gemm_tiled.f16"));
        Assert.That(f16.Kernels["layer.bwd_weight"], Is.EqualTo("linear/linear.gemm_tiled.b_act.c_float.f16"));
        F16StorageCheck.Close(f16.Y, f32.Y, Tolerances.F16Storage, "y");
        F16StorageCheck.Close(f16.GradX, f32.GradX, Tolerances.F16Storage, "grad_x");
        F16StorageCheck.Close(f16.GradW, f32.GradW, Tolerances.F16Storage, "grad_weight");
    }

    /// <summary>
    /// Tuned, the autoencoder's encoder product (64 x 4096 -> 128: few tiles, a long reduction) offers the tiles and the
    /// first one with K split; the tuner times them against the register-blocked kernel, its reference, and rejects none.
    /// </summary>
    [Test]
    public void TunedTilesAndSplitAgreeWithThePlainKernel()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"kiln-linear-tiled-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var run = Run(ctx, 64, 4096, 128, false, Precision.Fp32, autotune: true);
            Assert.That(ctx.Tuner.Timed, Is.GreaterThanOrEqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the register-blocked kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("linear.gemm|LinearGemm+LinearGemmTiled|"));
            var (x, w, b, _) = Data(64, 4096, 128);
            var expected = RefLinear.Forward(ConvTest.D(x), ConvTest.D(w), ConvTest.D(b), 64, 4096, 128);
            Assert.That(RelativeError.MaxRelative(run.Y, expected), Is.LessThan(Tolerances.Forward));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The split candidate: K cut into chunks over the workgroups' z where a product has fewer than 256 tiles (its
    /// tiles are TiledGemm's, checked in ConvImplicitGemmTests.TilesFitTheShader).</summary>
    [Test]
    public void FewTilesAndALongReductionSplitK()
    {
        Assert.That(PartialSums.Plan(2 * 2, 4096, 256, 64), Is.EqualTo((64, 64)));
    }

    static (float[] X, float[] W, float[] B, float[] Gy) Data(int n, int inF, int outF)
    {
        int r = 6200 + inF + outF + n;
        return (FixtureLayer.Uniform(n * inF, r), FixtureLayer.Uniform(outF * inF, r + 1), FixtureLayer.Uniform(outF, r + 2), FixtureLayer.Uniform(n * outF, r + 3));
    }

    /// <summary>Linear (and a fused ReLU) forward and backward of a DotLoss against grad_y, the tiled GEMM named.</summary>
    static (float[] Y, float[] GradX, float[] GradW, float[] GradB, Dictionary<string, string> Kernels) Run(GpuContext ctx, int n, int inF, int outF,
        bool relu, Precision precision, bool autotune)
    {
        var (x, w, b, gy) = Data(n, inF, outF);
        var net = new Network();
        var y = net.Add(new Linear(inF, outF), "layer", net.Input("x"));
        if (relu) y = net.Add(new ReLU(), "act", y);
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(ctx, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, inF), ["grad_y"] = new Shape(n, outF) },
            Training = true, InputGradients = true, LearningRate = 0f, Precision = precision, LossScaling = LossScaling.Off,
            Autotune = autotune, PreferKernels = Named,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["layer.weight"].Upload(w);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();
        var kernels = compiled.Plan.Dispatches.GroupBy(d => d.Label).ToDictionary(g => g.Key, g => g.First().Kernel);
        return (compiled.GetOutput("y"), compiled.InputGradients["x"].ToArray(), compiled.Gradients["layer.weight"].ToArray(),
            compiled.Gradients["layer.bias"].ToArray(), kernels);
    }
}
