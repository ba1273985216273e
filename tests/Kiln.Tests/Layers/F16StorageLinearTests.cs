using Kiln.Data;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// f16 activation storage (<see cref="Precision.Fp16"/>) of the linear-algebra layers agrees with f32 storage: Linear
/// (the gemm's variants per operand type, with and without texel reads, split K), MatMul (plain, batched, broadcast,
/// weights), Softmax, Transpose, and MLPs fused (shaders/mlp, both kernel entries) and unfused; and the Playground MLP
/// trains under Fp16.
/// </summary>
public sealed class F16StorageLinearTests : GpuTest
{
    /// <summary>
    /// <see cref="F16StorageCheck.Matches"/> with texel reads chosen: the layer with f32 and with f16 storage (same inputs,
    /// seeded parameters and output gradient), output and every gradient within <see cref="Tolerances.F16Storage"/> of
    /// each tensor's largest magnitude. Returns the f16 run's kernels.
    /// </summary>
    static string[] Matches(Layer layer, Shape[] shapes, bool? texel = null, int seed = 1)
    {
        var rng = new Random(seed);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var inputs = shapes.Select(s => Random(s.Elements)).ToArray();
        var gradOutput = Random(layer.OutputShape(shapes).Elements);
        var f32 = LayerHarness.Run(Context, layer, shapes, inputs, null, gradOutput, texel, Precision.Fp32);
        var f16 = LayerHarness.Run(Context, layer, shapes, inputs, null, gradOutput, texel, Precision.Fp16);
        F16StorageCheck.Close(f16.Output, f32.Output, Tolerances.F16Storage, "output");
        for (int i = 0; i < f32.InputGradients.Length; i++)
            F16StorageCheck.Close(f16.InputGradients[i], f32.InputGradients[i], Tolerances.F16Storage, $"gradient of input {i}");
        Assert.That(f16.ParameterGradients.Keys, Is.EquivalentTo(f32.ParameterGradients.Keys));
        foreach (var (name, g) in f32.ParameterGradients) F16StorageCheck.Close(f16.ParameterGradients[name], g, Tolerances.F16Storage, $"gradient of {name}");
        return f16.Kernels;
    }

    /// <summary>Every kernel of this family in the plan ran its f16-storage module (the reduction of partial gradients holds no activation).</summary>
    static void AssertF16Kernels(IEnumerable<string> kernels, params string[] prefixes)
    {
        var family = kernels.Where(k => prefixes.Any(k.StartsWith) && k != "mlp/mlp.reduce").ToList();
        Assert.That(family, Is.Not.Empty, "no kernel of " + string.Join(", ", prefixes));
        Assert.That(family, Is.All.EndsWith(".f16"), string.Join(", ", kernels));
    }

    // batch, in, out: tiny, odd (blocks past the edges), a full 8 x 8 block and more.
    [TestCase(1, 1, 1, true)]
    [TestCase(4, 3, 5, true)]
    [TestCase(7, 13, 9, false)]
    [TestCase(7, 13, 9, true)]
    [TestCase(33, 64, 17, false)]
    [TestCase(33, 64, 17, true)]
    public void Linear_MatchesF32(int batch, int inF, int outF, bool texel)
    {
        var kernels = Matches(new Linear(inF, outF), new[] { new Shape(batch, inF) }, texel, seed: batch + inF + outF);
        AssertF16Kernels(kernels, "linear/");
        Assert.That(kernels, Does.Contain("linear/linear.bwd_bias.f16"));
        // Without a split of K: forward and input gradient with A and C f16, W f32; weight gradient with dY and X f16, dW f32.
        string gemm = texel ? "linear/linear.gemm.texel" : "linear/linear.gemm";
        if (!kernels.Any(k => k.StartsWith("reduce/partials")))
            Assert.That(kernels, Does.Contain($"{gemm}.f16").And.Contain(texel ? $"{gemm}.c_float.f16" : "linear/linear.gemm.b_act.c_float.f16"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Linear_SplitK_MatchesF32(bool texel)
    {
        // 64 rows into 8 outputs over 512 inputs: too few blocks of C for the forward and the weight gradient, so both
        // split K into f32 partial sums, summed in order: the forward's sum rounds once into its f16 output (the f16 build
        // of reduce/partials), the weight gradient's stays f32. The only conversions into f16 are the network's two inputs.
        var kernels = Matches(new Linear(512, 8), new[] { new Shape(64, 512) }, texel);
        Assert.That(kernels.Count(k => k == "reduce/partials.f16"), Is.EqualTo(1), string.Join(", ", kernels));
        Assert.That(kernels.Count(k => k == "reduce/partials"), Is.EqualTo(1), string.Join(", ", kernels));
        Assert.That(kernels.Count(k => k == "elementwise/to_storage.f16"), Is.EqualTo(2), string.Join(", ", kernels));
        Assert.That(kernels, Does.Contain(texel ? "linear/linear.gemm.texel.c_float.f16" : "linear/linear.gemm.c_float.f16"));
        AssertF16Kernels(kernels, "linear/");
    }

    static IEnumerable<TestCaseData> MatMuls()
    {
        TestCaseData Case(string name, MatMul layer, params int[][] shapes) =>
            new TestCaseData(layer, shapes.Select(s => new Shape(s)).ToArray()).SetArgDisplayNames(name);
        yield return Case("matrices", new MatMul(), new[] { 7, 5 }, new[] { 5, 3 });
        yield return Case("batch_times_matrix", new MatMul(), new[] { 2, 3, 4, 5 }, new[] { 5, 6 });
        yield return Case("vector_times_batch", new MatMul(), new[] { 4 }, new[] { 2, 4, 3 });
        yield return Case("batched", new MatMul(), new[] { 2, 3, 4, 5 }, new[] { 2, 3, 5, 6 });
        yield return Case("broadcast_b", new MatMul(), new[] { 2, 3, 4, 5 }, new[] { 3, 5, 6 });
        yield return Case("broadcast_a", new MatMul(), new[] { 3, 1, 4, 5 }, new[] { 3, 2, 5, 6 });
        yield return Case("weight", new MatMul(new Shape(5, 6)), new[] { 2, 3, 5 });
        yield return Case("batched_weight", new MatMul(new Shape(3, 5, 6)), new[] { 3, 4, 5 });
        yield return Case("broadcast_weight", new MatMul(new Shape(3, 5, 6)), new[] { 2, 3, 4, 5 });
    }

    [TestCaseSource(nameof(MatMuls))]
    public void MatMul_MatchesF32(MatMul layer, Shape[] shapes)
    {
        foreach (bool texel in new[] { false, true })
            AssertF16Kernels(Matches(layer, shapes, texel), "linear/");
    }

    [TestCase(new[] { 4, 10 }, 1)]
    [TestCase(new[] { 2, 5, 3, 3 }, 1)]
    [TestCase(new[] { 3, 4, 7 }, -1)]
    public void Softmax_MatchesF32(int[] shape, int axis)
    {
        var kernels = Matches(new Softmax(axis), new[] { new Shape(shape) });
        Assert.That(kernels, Does.Contain("softmax/softmax.fwd.f16").And.Contain("softmax/softmax.bwd.f16"));
    }

    [TestCase(new[] { 2, 3, 4 }, new[] { 2, 0, 1 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 0, 2, 3, 1 })]
    public void Transpose_MatchesF32(int[] shape, int[] perm)
    {
        var kernels = Matches(new Transpose(perm), new[] { new Shape(shape) });
        Assert.That(kernels.Where(k => k.StartsWith("transpose/")), Is.All.EqualTo("transpose/transpose.f16").And.Not.Empty);
    }

    internal static Sequential Mlp(int[] widths, Func<Layer> act)
    {
        var layers = new List<Layer>();
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            layers.Add(new Linear(widths[i], widths[i + 1]));
            if (i + 2 < widths.Length) layers.Add(act());
        }
        return new Sequential(layers.ToArray()).WithLoss(new DotLoss());
    }

    /// <summary>One run of <see cref="RunMlp"/>: what went in (x and the output gradient as set, before any f16 storage
    /// rounds them; the parameters) and what came out.</summary>
    internal sealed record MlpRun(float[] X, float[] Target, Dictionary<string, float[]> Params, float[] Y, float[] GradX,
        Dictionary<string, float[]> Grads, string[] Kernels);

    /// <summary>The MLP compiled for training (the output gradient as DotLoss's "target"), run <paramref name="runs"/> times
    /// (the same step: nothing is learnt at learning rate 0): output and gradients of the last run, kernels. Without
    /// <paramref name="inputGrads"/> GradX is empty.</summary>
    internal static MlpRun RunMlp(int[] widths, Func<Layer> act, int batch, bool fuseMlp, bool texel, string? prefer, Precision precision,
        bool inputGrads = true, int runs = 1)
    {
        using var c = Mlp(widths, act).Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, widths[0]), ["target"] = new Shape(batch, widths[^1]) },
            Training = true, InputGradients = inputGrads, LearningRate = 0f, Seed = 3,
            FuseMlp = fuseMlp, TexelReads = texel, Precision = precision, LossScaling = LossScaling.Off, // gradients as they are
            PreferKernels = prefer != null ? new[] { prefer } : Array.Empty<string>(),
        });
        var rng = new Random(batch + widths.Sum());
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (x, target) = (Random(batch * widths[0]), Random(batch * widths[^1]));
        c.SetInput("x", x);
        c.SetInput("target", target);
        for (int r = 0; r < runs; r++) c.Run();
        return new MlpRun(x, target, c.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray()), c.GetOutput("y"),
            inputGrads ? c.InputGradients["x"].ToArray() : Array.Empty<float>(), c.Gradients.ToDictionary(g => g.Key, g => g.Value.ToArray()),
            c.Plan.Dispatches.Select(d => d.Kernel).ToArray());
    }

    static IEnumerable<TestCaseData> Mlps()
    {
        Func<Layer> tanh = () => new Tanh(), relu = () => new ReLU();
        foreach (bool texel in new[] { false, true })
        {
            string t = texel ? "_texel" : "";
            yield return new TestCaseData(new[] { 2, 8, 8, 1 }, tanh, 37, null, texel).SetArgDisplayNames("playground_2x8x8x1_tanh" + t);
            yield return new TestCaseData(new[] { 3, 64, 64, 64, 64, 3 }, relu, 70, null, texel).SetArgDisplayNames("mlp_64x4_relu" + t);
            yield return new TestCaseData(new[] { 5, 13, 7, 2 }, relu, 130, "MlpTileKernels", texel).SetArgDisplayNames("odd_widths_tile_kernels" + t);
        }
    }

    [TestCaseSource(nameof(Mlps))]
    public void Mlp_FusedAndUnfused_MatchF32(int[] widths, Func<Layer> act, int batch, string? prefer, bool texel)
    {
        foreach (bool fused in new[] { true, false })
        {
            var f32 = RunMlp(widths, act, batch, fused, texel, prefer, Precision.Fp32);
            var f16 = RunMlp(widths, act, batch, fused, texel, prefer, Precision.Fp16);
            string what = fused ? "fused" : "unfused";
            if (fused)
            {
                string entry = prefer == "MlpTileKernels" ? "mlp/mlp.tile" : "mlp/mlp";
                Assert.That(f16.Kernels, Does.Contain($"{entry}.fwd.f16").And.Contain($"{entry}.bwd.f16"), what);
                AssertF16Kernels(f16.Kernels, "mlp/");
            }
            else
            {
                Assert.That(f16.Kernels.Where(k => k.StartsWith("mlp/")), Is.Empty, what);
                AssertF16Kernels(f16.Kernels, "linear/");
            }
            F16StorageCheck.Close(f16.Y, f32.Y, Tolerances.F16Storage, $"{what} output");
            F16StorageCheck.Close(f16.GradX, f32.GradX, Tolerances.F16Storage, $"{what} input gradient");
            Assert.That(f16.Grads.Keys, Is.EquivalentTo(f32.Grads.Keys));
            foreach (var (name, g) in f32.Grads) F16StorageCheck.Close(f16.Grads[name], g, Tolerances.F16Storage, $"{what} gradient of {name}");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Attention_MatchesF32(bool texel)
    {
        // One head of self-attention over x [2, 5, 8]: softmax(Q K^T) V with Q, K, V = x W (batched weights), then a
        // Linear on the flattened result.
        (float[] Y, float[] GradX, Dictionary<string, float[]> Grads, string[] Kernels) Run(Precision precision)
        {
            var net = new Network();
            var x = net.Input("x");
            var q = net.Add(new MatMul(new Shape(8, 8)), "q", x);
            var k = net.Add(new MatMul(new Shape(8, 8)), "k", x);
            var v = net.Add(new MatMul(new Shape(8, 8)), "v", x);
            var scores = net.Add(new MatMul(), "scores", q, net.Add(new Transpose(0, 2, 1), "kt", k));
            var mixed = net.Add(new MatMul(), "mix", net.Add(new Softmax(-1), "attn", scores), v);
            var y = net.Add(new Linear(40, 3), "out", net.Add(new Flatten(), "rows", mixed));
            net.Output(y, "y");
            net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
            using var c = net.Compile(Context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 5, 8), ["grad_y"] = new Shape(2, 3) },
                Training = true, InputGradients = true, LearningRate = 0f, Seed = 5, TexelReads = texel, Precision = precision,
                LossScaling = LossScaling.Off,
            });
            var rng = new Random(17);
            c.SetInput("x", Enumerable.Range(0, 80).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
            c.SetInput("grad_y", Enumerable.Range(0, 6).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
            c.Run();
            return (c.GetOutput("y"), c.InputGradients["x"].ToArray(), c.Gradients.ToDictionary(g => g.Key, g => g.Value.ToArray()),
                c.Plan.Dispatches.Select(d => d.Kernel).ToArray());
        }
        var f32 = Run(Precision.Fp32);
        var f16 = Run(Precision.Fp16);
        AssertF16Kernels(f16.Kernels, "linear/", "softmax/", "transpose/");
        F16StorageCheck.Close(f16.Y, f32.Y, Tolerances.F16Storage, "output");
        F16StorageCheck.Close(f16.GradX, f32.GradX, Tolerances.F16Storage, "input gradient");
        foreach (var (name, g) in f32.Grads) F16StorageCheck.Close(f16.Grads[name], g, Tolerances.F16Storage, $"gradient of {name}");
    }

    [Test]
    public void PlaygroundMlp_TrainsUnderFp16()
    {
        // The Playground's circle: 250 training points, full-batch Adam for 300 steps, with the default dynamic loss scaling.
        var (train, _) = PlaygroundData.Create(PlaygroundKind.Circle, points: 500, seed: 2);
        int n = train.Count;
        var x = new float[2 * n];
        var target = new float[n];
        for (int i = 0; i < n; i++) train.Read(i, x.AsSpan(2 * i, 2), target.AsSpan(i, 1), new Random(0));
        using var c = PlaygroundMlp.Build().Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, 2), ["target"] = new Shape(n, 1) },
            Training = true, Optimizer = new Adam(), LearningRate = 0.03f, Seed = 1, Precision = Precision.Fp16,
        });
        Assert.That(c.Plan.Dispatches.Select(d => d.Kernel), Has.Some.EndsWith(".f16"));
        c.SetInput("x", x);
        c.SetInput("target", target);
        var losses = new List<float>();
        for (int step = 0; step < 300; step++)
        {
            c.Run();
            losses.Add(c.GetOutput("loss")[0]);
        }
        Assert.That(losses, Is.All.Matches<float>(float.IsFinite));
        var state = c.ReadStepState();
        Assert.That(state.Step + state.SkippedSteps, Is.EqualTo(300u));
        Assert.That(state.Step, Is.GreaterThanOrEqualTo(290u), $"{state.SkippedSteps} steps overflowed at loss scale {state.LossScale}");
        float first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();
        // A constant prediction scores 0.25 (half the labels are 1); the circle is separable by this network.
        Assert.That(last, Is.LessThan(0.25f * first).And.LessThan(0.05f), $"loss {first} over the first 10 steps, {last} over the last 10");
    }
}
