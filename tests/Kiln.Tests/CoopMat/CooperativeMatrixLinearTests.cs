using Kiln.Layers;
using Kiln.Tests.Layers;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The cooperative-matrix GEMM of Linear (forward, dX = dY W, dW = dY^T X: shaders/linear/linear.gemm_coopmat.comp)
/// against the plain kernels, where the device has fp16 cooperative matrices: each layer at Fp16 with
/// <see cref="LinearCoopMat"/> named agrees with its Fp32 run (the register-blocked f32 kernel) within
/// <see cref="Tolerances.F16Storage"/> of each tensor's largest value (<see cref="F16StorageCheck.Close"/>), and the
/// plan shows the cooperative-matrix modules it should (operand types per pass, split K where planned). Sizes are not
/// multiples of the matrices, so every tile has ragged edges. Debian 12's lavapipe has no cooperative matrices (see
/// <see cref="CooperativeMatrixTest"/>); tools/coopmat-lavapipe.sh runs them on Mesa 26's lavapipe (8x8x8 matrices, 8-wide
/// subgroups), a GPU run on 16x16x16 ones. Which kernel a plan picks is checked without a GPU in
/// Graph/LinearCoopMatChoiceTests.
/// </summary>
public sealed class CooperativeMatrixLinearTests : CooperativeMatrixTest
{
    // f16 activations in, f32 weight in, f16 out (forward, dX); f16 dY and X in, f32 dW out; f32 partial sums out.
    const string Product = "linear/linear.gemm_coopmat.f16", WeightGrad = "linear/linear.gemm_coopmat.b_act.c_float.f16";
    const string Partials = "linear/linear.gemm_coopmat.c_float.f16", Sum = "reduce/partials";
    static readonly string[] Named = { nameof(LinearCoopMat) };

    /// <summary>Layer, batch, the module each pass must run (<see cref="PlainKernel"/>: the register-blocked one), and the
    /// passes of the cooperative-matrix GEMM whose K is split (an ordered sum, "&lt;pass&gt;.sum", follows them).</summary>
    static IEnumerable<TestCaseData> Layers() => new[]
    {
        // Forward y = x W^T (B transposed), dX = dY W (plain), dW = dY^T X (A transposed), on 64 x 64 and 64 x 16 tiles (S = 8).
        Case("odd_sizes_bias", new Linear(37, 61), 123, Product, Product, WeightGrad),
        // K = 150 over 6 small tiles: the forward splits K (f32 partials, then the ordered sum into the f16 output).
        Case("no_bias_forward_split", new Linear(150, 20, bias: false), 45, Partials, Product, WeightGrad, "layer.fwd"),
        // dW reduces a batch of 700 over 6 tiles of 16 x 16: split into 6 chunks of 128 rows (S = 8).
        Case("weight_grad_split", new Linear(24, 40), 700, Product, Product, WeightGrad, "layer.bwd_weight"),
        // 10 outputs: below LinearCoopMat.MinSize the forward and dW run the plain kernel; dX (64 x 37) does not.
        Case("narrow_output_falls_back", new Linear(37, 10), 64, PlainKernel, Product, PlainKernel),
    };

    const string PlainKernel = "linear/linear.gemm";

    static TestCaseData Case(string name, Linear layer, int batch, string forward, string inputGrad, string weightGrad, params string[] split) =>
        new TestCaseData(layer, batch, new[] { forward, inputGrad, weightGrad }, split).SetArgDisplayNames(name);

    /// <summary>dX through the derivative of the activation before (<see cref="ActivationGradient"/>): the .dact form.</summary>
    [Test]
    public void TheInputGradient_TakesTheActivationBefore() =>
        Graph.LinearActivationGradientTests.TensorCoreProductTakesTheActivation(nameof(LinearCoopMat), "linear/linear.gemm_coopmat.dact.f16");

    [TestCaseSource(nameof(Layers))]
    public void MatchesThePlainKernels(Linear layer, int batch, string[] kernels, string[] split)
    {
        var shape = new Shape(batch, layer.InFeatures);
        var rng = new Random(3);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var x = Random(shape.Elements);
        var gy = Random((long)batch * layer.OutFeatures);
        var f32 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, null, gy, precision: Precision.Fp32, preferKernels: Named);
        var f16 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, null, gy, precision: Precision.Fp16, preferKernels: Named);

        Assert.That(f32.Kernels, Has.None.Contains("coopmat"), "Fp32 never runs fp16 operands");
        var passes = new[] { "layer.fwd", "layer.bwd_input", "layer.bwd_weight" };
        string plan = string.Join(", ", f16.Labels.Zip(f16.Kernels, (l, k) => $"{l}: {k}"));
        for (int i = 0; i < passes.Length; i++)
        {
            string kernel = f16.Kernels[Array.IndexOf(f16.Labels, passes[i])];
            if (kernels[i] == PlainKernel)
            {
                Assert.That(kernel, Does.StartWith(PlainKernel + ".").And.Not.Contains("coopmat"), plan);
                continue;
            }
            Assert.That(kernel, Is.EqualTo(kernels[i]), plan);
            Assert.That(f16.Labels.Contains(passes[i] + ".sum"), Is.EqualTo(split.Contains(passes[i])), $"{passes[i]} split: {plan}");
        }
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.InputGradients[0], f32.InputGradients[0], Tolerances.F16Storage, "input gradient");
        Assert.That(f16.ParameterGradients.Keys, Is.EquivalentTo(f32.ParameterGradients.Keys));
        foreach (var (name, g) in f32.ParameterGradients) F16StorageCheck.Close(f16.ParameterGradients[name], g, Tolerances.F16Storage, $"gradient of {name}");
    }

    /// <summary>
    /// Forward only (an inference plan), K split over a few rows: the partial sums get the bias in the ordered sum, whose
    /// f16 build writes the f16 output.
    /// </summary>
    [Test]
    public void ForwardOnly_SplitK_MatchesThePlainKernel()
    {
        var layer = new Linear(300, 24);
        var shape = new Shape(20, 300);
        var rng = new Random(5);
        var x = Enumerable.Range(0, (int)shape.Elements).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var f32 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, precision: Precision.Fp32, preferKernels: Named);
        var f16 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, precision: Precision.Fp16, preferKernels: Named);
        Assert.That(f16.Kernels, Does.Contain(Partials).And.Contain(Sum + ".f16"), string.Join(", ", f16.Kernels));
        Assert.That(f16.Kernels.Count(k => k.StartsWith("elementwise/to_storage")), Is.EqualTo(1),
            "only the input enters f16 through a conversion; the sum writes its f16 output itself: " + string.Join(", ", f16.Kernels));
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
    }

    /// <summary>
    /// A fused activation (Tanh, applied in the epilogue before the f16 store; smooth, so f16 rounding cannot flip its
    /// derivative as it can a ReLU's) and the backward through it.
    /// </summary>
    [Test]
    public void FusedActivation_MatchesThePlainKernels()
    {
        var xShape = new Shape(70, 33);
        var rng = new Random(7);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var x = Random(xShape.Elements);
        var gy = Random(70 * 48);
        // Linear(33, 48) then Tanh, fused (Fuse on), forward and backward of a DotLoss against gy, LinearCoopMat named.
        var f32 = LayerHarness.RunFused(Context, new Linear(33, 48), new Tanh(), xShape, x, gy, Precision.Fp32, null, Named);
        var f16 = LayerHarness.RunFused(Context, new Linear(33, 48), new Tanh(), xShape, x, gy, Precision.Fp16, null, Named);
        Assert.That(f16.Kernels.Count(k => k == Product), Is.EqualTo(2), string.Join(", ", f16.Kernels));
        Assert.That(f16.Kernels, Does.Contain(WeightGrad));
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.InputGradients[0], f32.InputGradients[0], Tolerances.F16Storage, "input gradient");
        foreach (var (name, g) in f32.ParameterGradients) F16StorageCheck.Close(f16.ParameterGradients[name], g, Tolerances.F16Storage, $"gradient of {name}");
    }
}

/// <summary>
/// MatMul's batched products on tensor cores (linear.gemm_coopmat.batched, <see cref="BatchedGemm"/>) where Linear's run
/// there (<see cref="LinearCoopMat"/> named): two activations with a broadcast batch dimension, and an activation times a
/// weight, forward and both gradients at Fp16 within <see cref="Tolerances.F16Storage"/> of the Fp32 run (the plain
/// batched kernel); sizes off the matrices' multiples; tuned against the plain kernel.
/// </summary>
public sealed class CooperativeMatrixMatMulTests : CooperativeMatrixTest
{
    static readonly string[] Named = { nameof(LinearCoopMat) };

    [Test]
    public void TwoActivations_BroadcastBatch_MatchThePlainKernel()
    {
        var shapes = new[] { new Shape(2, 3, 40, 24), new Shape(3, 24, 36) };
        var rng = new Random(11);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var inputs = shapes.Select(s => Random(s.Elements)).ToArray();
        var gy = Random(2 * 3 * 40 * 36);
        var f32 = LayerHarness.Run(Context, new MatMul(), shapes, inputs, null, gy, texelReads: false, precision: Precision.Fp32, preferKernels: Named);
        var f16 = LayerHarness.Run(Context, new MatMul(), shapes, inputs, null, gy, texelReads: false, precision: Precision.Fp16, preferKernels: Named);
        Assert.That(f32.Kernels, Has.None.Contains("coopmat"));
        Assert.That(f16.Kernels, Does.Contain("linear/linear.gemm_coopmat.batched.b_act.f16"), string.Join(", ", f16.Kernels));
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        for (int i = 0; i < 2; i++) F16StorageCheck.Close(f16.InputGradients[i], f32.InputGradients[i], Tolerances.F16Storage, $"gradient of input {i}");
    }

    /// <summary>Under Autotune a product of 16M multiply-adds or more times the tensor-core tiles against the plain batched
    /// kernel; none disagrees with it, and the tuned product matches the Fp32 run.</summary>
    [Test]
    public void Tuned_TimesTheTilesAgainstThePlainKernel()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-matmul-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var shapes = new Dictionary<string, Shape> { ["a"] = new(4, 128, 256), ["b"] = new(4, 256, 128) };
            var rng = new Random(13);
            var inputs = shapes.ToDictionary(kv => kv.Key, kv => Enumerable.Range(0, (int)kv.Value.Elements).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
            float[] Run(GpuContext ctx, Precision precision, bool autotune)
            {
                var net = new Network();
                net.Output(net.Add(new MatMul(), "mm", net.Input("a"), net.Input("b")), "y");
                using var compiled = net.Compile(ctx, new CompileOptions
                {
                    InputShapes = shapes, Precision = precision, Autotune = autotune, TexelReads = false, PreferKernels = Named,
                });
                foreach (var (name, data) in inputs) compiled.SetInput(name, data);
                compiled.Run();
                return compiled.GetOutput("y");
            }
            var f32 = Run(Context, Precision.Fp32, false);
            using var tuning = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var tuned = Run(tuning, Precision.Fp16, true);
            Assert.That(tuning.Tuner.Timed, Is.EqualTo(1));
            Assert.That(tuning.Tuner.Rejected, Is.EqualTo(0), "every tile agrees with the plain kernel");
            Assert.That(File.ReadAllText(tuning.Tuner.FilePath!), Does.Contain("linear.gemm.batched|LinearCoopMat+LinearGemm|"));
            F16StorageCheck.Close(tuned, f32, Tolerances.F16Storage, "output");
            Assert.That(tuning.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void ActivationTimesWeight_MatchesThePlainKernel()
    {
        var layer = new MatMul(new Shape(4, 20, 33));
        var shape = new Shape(4, 50, 20);
        var rng = new Random(12);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var x = Random(shape.Elements);
        var w = Random(4 * 20 * 33);
        var gy = Random(4 * 50 * 33);
        var ps = new Dictionary<string, float[]> { ["weight"] = w };
        var f32 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, ps, gy, texelReads: false, precision: Precision.Fp32, preferKernels: Named);
        var f16 = LayerHarness.Run(Context, layer, new[] { shape }, new[] { x }, ps, gy, texelReads: false, precision: Precision.Fp16, preferKernels: Named);
        Assert.That(f16.Kernels, Does.Contain("linear/linear.gemm_coopmat.batched.f16").And.Contain("linear/linear.gemm_coopmat.batched.b_act.c_float.f16"),
            string.Join(", ", f16.Kernels));
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.InputGradients[0], f32.InputGradients[0], Tolerances.F16Storage, "input gradient");
        F16StorageCheck.Close(f16.ParameterGradients["weight"], f32.ParameterGradients["weight"], Tolerances.F16Storage, "weight gradient");
    }
}

/// <summary>
/// <see cref="Graph.GemmAutotuneTests"/> at Fp16 with <see cref="LinearCoopMat"/> named: its tiles (single-pass and split)
/// are timed with the plain kernel's blocks for every product, none disagrees with the default, and the tuned step is
/// within <see cref="Tolerances.F16Storage"/> of the untuned Fp32 one.
/// </summary>
public sealed class CooperativeMatrixGemmAutotuneTests : CooperativeMatrixTest
{
    [Test]
    public void TensorCoreTilesAreTimedWithThePlainBlocks()
    {
        var (f32, _) = Graph.GemmAutotuneTests.Step(Context, false, Precision.Fp32);
        Dictionary<string, float[]> tuned = null!;
        var choices = Graph.GemmAutotuneTests.Tuned(ctx => tuned = Graph.GemmAutotuneTests.Step(ctx, true, Precision.Fp16, nameof(LinearCoopMat)).Results, timed: 6); // GemmAutotuneTests' six
        Assert.That(choices, Does.Contain("linear.gemm|LinearCoopMat+LinearGemm|Fp16|"));
        foreach (var (name, values) in f32) F16StorageCheck.Close(tuned[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// A long-K forward into an f16 activation (<see cref="Graph.GemmAutotuneTests.TimeSplitForwardAtFp16"/>) with
    /// <see cref="LinearCoopMat"/> named: its split tiles are timed too, their partials summed into f16 as the graph does.
    /// </summary>
    [Test]
    public void SplitTensorCoreTiles_IntoAnF16Activation_AreTimed()
    {
        string timed = Graph.GemmAutotuneTests.TimeSplitForwardAtFp16(Context, nameof(LinearCoopMat));
        Assert.That(System.Text.RegularExpressions.Regex.IsMatch(timed, @"LinearCoopMat:\d+x\d+x\d+x\d+s\d+ [\d.]+"), timed);
    }
}
