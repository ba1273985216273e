using Kiln.Layers;
using Kiln.Models;
using Kiln.Tests.Layers;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The cooperative_matrix2 GEMM of Linear (<see cref="LinearCoopMat2"/>: forward, dX = dY W, dW = dY^T X) against the plain
/// kernels, and every cooperative_matrix2 candidate (its tiles single-pass and split, the convolution's and the weight
/// gradient's) through the tuner, which checks each against the plain f32 kernel's result. On Mesa 26's lavapipe this is
/// the .subgroup form (see <see cref="CooperativeMatrix2ConvTests"/>).
/// </summary>
public sealed class CooperativeMatrix2LinearTests : CooperativeMatrixTest
{
    [SetUp]
    public void RequireCooperativeMatrix2()
    {
        if (!Context.KernelDevice.CooperativeMatrix2)
            Assert.Fail($"{Context.Info.Name} has no VK_NV_cooperative_matrix2 with flexible dimensions and per-element operations: tools/coopmat-lavapipe.sh test runs these tests on Mesa 26's lavapipe.");
    }

    string Form => Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";

    /// <summary>Sizes that are not multiples of the tiles (ragged edges on every side), with a bias and without.</summary>
    [TestCase(37, 61, 123, true)]
    [TestCase(150, 20, 45, false)]
    [TestCase(24, 40, 300, true)]
    public void MatchesThePlainKernels(int inFeatures, int outFeatures, int batch, bool bias)
    {
        var layer = new Linear(inFeatures, outFeatures, bias);
        var shape = new Shape(batch, inFeatures);
        var rng = new Random(7);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var x = Random(shape.Elements);
        var gy = Random((long)batch * outFeatures);
        var named = new[] { nameof(LinearCoopMat2) };
        var f32 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, null, gy, precision: Precision.Fp32, preferKernels: named);
        var f16 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, null, gy, precision: Precision.Fp16, preferKernels: named);

        string plan = string.Join(", ", f16.Labels.Zip(f16.Kernels, (l, k) => $"{l}: {k}"));
        string Kernel(string pass) => f16.Kernels[Array.IndexOf(f16.Labels, pass)];
        Assert.That(Kernel("layer.fwd"), Is.EqualTo($"linear/linear.gemm_coopmat2{Form}.f16"), plan);
        Assert.That(Kernel("layer.bwd_input"), Is.EqualTo($"linear/linear.gemm_coopmat2{Form}.f16"), plan);
        Assert.That(Kernel("layer.bwd_weight"), Is.EqualTo($"linear/linear.gemm_coopmat2{Form}.b_act.c_float.f16"), plan);
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.InputGradients[0], f32.InputGradients[0], Tolerances.F16Storage, "input gradient");
        foreach (var (name, g) in f32.ParameterGradients) F16StorageCheck.Close(f16.ParameterGradients[name], g, Tolerances.F16Storage, $"gradient of {name}");
    }

    /// <summary>dX through the derivative of the activation before (<see cref="ActivationGradient"/>): the .dact form.</summary>
    [Test]
    public void TheInputGradient_TakesTheActivationBefore() =>
        Graph.LinearActivationGradientTests.TensorCoreProductTakesTheActivation(nameof(LinearCoopMat2), $"linear/linear.gemm_coopmat2{Form}.dact.f16");

    /// <summary>
    /// Graph.GemmAutotuneTests' two layers at Fp16 with <see cref="LinearCoopMat2"/> named: its tiles, single-pass and split
    /// (fc0's dW over the batch), are timed with the plain kernel's blocks for every product and none disagrees with it;
    /// the tuned step is within <see cref="Tolerances.F16Storage"/> of the untuned Fp32 one.
    /// </summary>
    [Test]
    public void GemmTiles_AreTimedAndAgree()
    {
        var (f32, _) = Graph.GemmAutotuneTests.Step(Context, false, Precision.Fp32);
        Dictionary<string, float[]> tuned = null!;
        var choices = Graph.GemmAutotuneTests.Tuned(ctx => tuned = Graph.GemmAutotuneTests.Step(ctx, true, Precision.Fp16, nameof(LinearCoopMat2)).Results, timed: 6); // GemmAutotuneTests' six
        Assert.That(choices, Does.Contain("linear.gemm|LinearGemm+LinearCoopMat2|Fp16|").Or.Contain("linear.gemm|LinearCoopMat2+LinearGemm|Fp16|"));
        foreach (var (name, values) in f32) F16StorageCheck.Close(tuned[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// A small UNet-like step at Fp16 tuned with the cooperative_matrix2 convolution kernels named: every tile of the forward
    /// (and of the stride-1 input gradient through it) and of the weight gradient, split ones with their ordered sum, is
    /// timed against the plain kernels and agrees with the plain f32 kernel's result (the tuner rejects none).
    /// </summary>
    [Test]
    public void ConvolutionTiles_AreTimedAndAgree()
    {
        var net = new Network();
        var h = net.Add(new Conv2d(8, 24, 3, padding: 1), "c1", net.Input("x"));
        h = net.Add(new ReLU(), "r1", h);
        var y = net.Add(new Conv2d(24, 16, 3, padding: 1), "c2", h);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        var dir = Path.Combine(Path.GetTempPath(), "kiln-coopmat2-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var c = net.Compile(ctx, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 8, 20, 18), ["t"] = new Shape(2, 16, 20, 18) },
                Training = true, Autotune = true, Precision = Precision.Fp16,
                PreferKernels = new[] { nameof(Conv2dCoopMat2), nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dInputGradFlipped) },
            });
            c.Run();
            Assert.That(ctx.Tuner.Timed, Is.GreaterThanOrEqualTo(4), "both layers' forward and weight gradient");
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the plain kernel");
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            Assert.That(choices, Does.Contain("Conv2dCoopMat2"), "the forward's candidates include the cooperative_matrix2 kernel's");
            Assert.That(choices, Does.Contain("Conv2dWeightGradCoopMat2"), "so do the weight gradient's");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// MatMul's batched products on cooperative_matrix2 (linear.gemm_coopmat2.batched, <see cref="BatchedGemm"/>), named: two
    /// activations with a broadcast batch dimension, forward and both gradients at Fp16 within
    /// <see cref="Tolerances.F16Storage"/> of the Fp32 run; and tuned, its tiles timed against the plain and KHR kernels
    /// with none rejected.
    /// </summary>
    [Test]
    public void BatchedMatMul_MatchesThePlainKernel_AndTunes()
    {
        var named = new[] { nameof(LinearCoopMat2) };
        var shapes = new[] { new Shape(2, 3, 40, 24), new Shape(3, 24, 36) };
        var rng = new Random(11);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var inputs = shapes.Select(s => Random(s.Elements)).ToArray();
        var gy = Random(2 * 3 * 40 * 36);
        var f32 = LayerHarness.Run(Context, new MatMul(), shapes, inputs, null, gy, texelReads: false, precision: Precision.Fp32, preferKernels: named);
        var f16 = LayerHarness.Run(Context, new MatMul(), shapes, inputs, null, gy, texelReads: false, precision: Precision.Fp16, preferKernels: named);
        Assert.That(f16.Kernels, Does.Contain($"linear/linear.gemm_coopmat2{Form}.batched.b_act.f16"), string.Join(", ", f16.Kernels));
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        for (int i = 0; i < 2; i++) F16StorageCheck.Close(f16.InputGradients[i], f32.InputGradients[i], Tolerances.F16Storage, $"gradient of input {i}");

        var dir = Path.Combine(Path.GetTempPath(), "kiln-matmul2-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var big = new Dictionary<string, Shape> { ["a"] = new(4, 128, 256), ["b"] = new(4, 256, 128) };
            var net = new Network();
            net.Output(net.Add(new MatMul(), "mm", net.Input("a"), net.Input("b")), "y");
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var compiled = net.Compile(ctx, new CompileOptions
            {
                InputShapes = big, Precision = Precision.Fp16, Autotune = true, TexelReads = false, PreferKernels = new[] { nameof(LinearCoopMat), nameof(LinearCoopMat2) },
            });
            foreach (var (name, shape) in big) compiled.SetInput(name, Random(shape.Elements));
            compiled.Run();
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every tile agrees with the plain kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("LinearCoopMat2"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }
}
