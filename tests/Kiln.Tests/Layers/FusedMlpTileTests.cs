using NUnit.Framework;
using Kiln.Tests.Reference;

namespace Kiln.Tests.Layers;

/// <summary>
/// The GPU-oriented fused MLP entry (MlpTileKernels: shaders/mlp/mlp.tile.fwd, mlp.tile.bwd, mlp.tile.dw) forced on
/// this device through CompileOptions.PreferKernels, against the CPU double reference and the unfused kernels: forward,
/// input and parameter gradients, batches that are not a multiple of the 64-row tile, widths other than 64,
/// tanh/ReLU/sigmoid, up to eight layers, weight-gradient chunks of several tiles, SGD steps, determinism.
/// </summary>
public sealed class FusedMlpTileTests : GpuTest
{
    const string Tile = "MlpTileKernels";

    static IEnumerable<TestCaseData> Shapes()
    {
        foreach (var c in FusedMlpTests.Shapes()) yield return c;
        yield return new TestCaseData(new[] { 3, 32, 32, 3 }, Activation.ReLU, 200).SetName("3_32_32_3_relu_batch200");
        yield return new TestCaseData(new[] { 2, 8, 8, 1 }, Activation.Tanh, 65).SetName("2_8_8_1_tanh_batch65");
        yield return new TestCaseData(new[] { 3, 64, 64, 64, 64, 3 }, Activation.ReLU, 333).SetName("mlp_64x4_batch333");
        yield return new TestCaseData(new[] { 64, 64, 64 }, Activation.Sigmoid, 64).SetName("64_64_64_sigmoid_one_tile");
        // 16484 rows = 258 tiles: weight-gradient chunks of two tiles (129 of them), the last tile partial.
        yield return new TestCaseData(new[] { 3, 16, 16, 3 }, Activation.Tanh, 16484).SetName("3_16_16_3_tanh_batch16484_two_tiles_per_chunk");
    }

    [TestCaseSource(nameof(Shapes))]
    public void ForwardAndGradients_MatchTheCpuReferenceAndTheUnfusedKernels(int[] widths, Activation act, int batch)
    {
        using var fused = FusedMlpTests.Compile(widths, act, batch, fuse: true, inputGrads: true, prefer: Tile);
        using var plain = FusedMlpTests.Compile(widths, act, batch, fuse: false, inputGrads: true);
        var kernels = fused.Plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Does.Contain("mlp/mlp.tile.fwd").And.Contain("mlp/mlp.tile.bwd").And.Contain("mlp/mlp.tile.dw").And.Contain("mlp/mlp.reduce"));
        Assert.That(kernels, Does.Not.Contain("mlp/mlp.fwd").And.Not.Contain("mlp/mlp.bwd"));
        FusedMlpTests.AssertMatchesReferenceAndUnfused(fused, plain, widths, act, batch);
    }

    [Test]
    public void WithoutInputGradients_TheParameterGradientsStillMatch()
    {
        int[] widths = { 3, 32, 32, 3 };
        using var fused = FusedMlpTests.Compile(widths, Activation.ReLU, 130, fuse: true, prefer: Tile);
        Assert.That(fused.Plan.Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.tile.bwd"));
        var (_, _, grads) = FusedMlpTests.Reference(fused, widths, Activation.ReLU, 130);
        fused.Run();
        foreach (var (name, g) in grads)
            Assert.That(RelativeError.MaxRelative(fused.Gradients[name].ToArray(), g), Is.LessThan(Tolerances.Gradient), $"{name} gradient vs CPU");
    }

    [Test]
    public void Inference_WithoutSavedActivations_MatchesTheCpuReference()
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        const int batch = 100;
        var net = new Network();
        var h = net.Input("x");
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            h = net.Add(new Linear(widths[i], widths[i + 1]), $"fc{i}", h);
            if (i + 2 < widths.Length) h = net.Add(new ReLU(), $"act{i}", h);
        }
        net.Output(h, "y");
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, widths[0]) }, FuseMlp = true, PreferKernels = new[] { Tile },
        });
        Assert.That(c.Plan.Dispatches.Select(d => d.Kernel), Is.EqualTo(new[] { "mlp/mlp.tile.fwd" }));
        int seed = 11;
        foreach (var (_, t) in c.Parameters) t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.6, 0.6).Select(v => (float)v).ToArray());
        var x = RandomData.Uniform(batch * widths[0], 3).Select(v => (double)(float)v).ToArray();
        c.SetInput("x", x.Select(v => (float)v).ToArray());
        var a = x;
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            var z = RefLinear.Forward(a, c.Parameters[$"fc{l}.weight"].ToArray().Select(v => (double)v).ToArray(),
                c.Parameters[$"fc{l}.bias"].ToArray().Select(v => (double)v).ToArray(), batch, widths[l], widths[l + 1]);
            a = l + 2 < widths.Length ? z.Select(v => Math.Max(v, 0)).ToArray() : z;
        }
        c.Run();
        Assert.That(RelativeError.MaxRelative(c.GetOutput("y"), a), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void SgdSteps_FollowTheCpuSgd_AndTwoRunsAreBitIdentical()
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        const int batch = 300;
        float[][] Train(out Dictionary<string, double[]> expected, out Dictionary<string, float[]> actual)
        {
            using var c = FusedMlpTests.Compile(widths, Activation.ReLU, batch, fuse: true, new Sgd(), 0.01f, prefer: Tile);
            Assert.That(c.Plan.Dispatches.Count(d => d.Kernel.StartsWith("mlp/")), Is.EqualTo(4), "forward, deltas, weight gradients, their sum");
            expected = c.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray().Select(v => (double)v).ToArray());
            for (int step = 0; step < 4; step++)
            {
                var (_, _, grads) = FusedMlpTests.Reference(c, widths, Activation.ReLU, batch);
                foreach (var (name, g) in grads) expected[name] = RefSgd.Step(expected[name], g, 0.01);
                c.Run();
            }
            actual = c.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
            return c.Parameters.Values.Select(t => t.ToArray()).Concat(c.Gradients.Values.Select(t => t.ToArray())).ToArray();
        }
        var a = Train(out var expected, out var actual);
        foreach (var (name, p) in actual)
            Assert.That(RelativeError.MaxRelative(p, expected[name]), Is.LessThan(1e-3), $"{name} vs CPU SGD after 4 steps");
        var b = Train(out _, out _);
        for (int i = 0; i < a.Length; i++) Assert.That(a[i], Is.EqualTo(b[i]).AsCollection, $"tensor {i}");
    }
}
