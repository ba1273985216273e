using NUnit.Framework;
using Kiln.Tests.Reference;

namespace Kiln.Tests.Layers;

/// <summary>
/// The fused MLP (shaders/mlp) against the CPU double reference and against the unfused kernels: forward
/// outputs, parameter and input gradients, SGD and Adam trajectories, determinism, at the benchmark shapes and
/// at odd ones (batches not a multiple of the workgroup, widths 1..64).
/// </summary>
public sealed class FusedMlpTests : GpuTest
{
    /// <summary>Trajectories compound f32 rounding of different summation orders over a few steps.</summary>
    const double Trajectory = 1e-3;

    static Network Mlp(int[] widths, Activation act, out List<string> linears)
    {
        var net = new Network();
        var h = net.Input("x");
        linears = new List<string>();
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            string name = $"fc{i}";
            h = net.Add(new Linear(widths[i], widths[i + 1]), name, h);
            linears.Add(name);
            if (i + 2 < widths.Length)
                h = net.Add(act switch { Activation.ReLU => new ReLU(), Activation.Sigmoid => new Sigmoid(), _ => (Layer)new Tanh() }, $"act{i}", h);
        }
        net.Output(h, "y");
        net.SetLoss(new MseLoss(), h, net.Input("target"));
        return net;
    }

    /// <param name="prefer">Kernel entries to force (CompileOptions.PreferKernels), e.g. "MlpTileKernels".</param>
    internal static CompiledNetwork Compile(int[] widths, Activation act, int batch, bool fuse, Optimizer? optimizer = null, float lr = 0f,
        bool inputGrads = false, string? prefer = null)
    {
        var compiled = Mlp(widths, act, out _).Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, widths[0]), ["target"] = new Shape(batch, widths[^1]) },
            Training = true, Fuse = fuse, FuseMlp = fuse ? true : null, LearningRate = lr, InputGradients = inputGrads, Optimizer = optimizer ?? new Sgd(),
            PreferKernels = prefer != null ? new[] { prefer } : Array.Empty<string>(),
        });
        int seed = 11;
        foreach (var (name, t) in compiled.Parameters)
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.6, 0.6).Select(v => (float)v).ToArray());
        compiled.SetInput("x", RandomData.Uniform(batch * widths[0], 3).Select(v => (float)v).ToArray());
        compiled.SetInput("target", RandomData.Uniform(batch * widths[^1], 4).Select(v => (float)v).ToArray());
        return compiled;
    }

    static double Act(Activation a, double v) => a switch
    {
        Activation.ReLU => Math.Max(v, 0), Activation.Sigmoid => 1 / (1 + Math.Exp(-v)), _ => Math.Tanh(v),
    };

    static double ActGrad(Activation a, double y) => a switch
    {
        Activation.ReLU => y > 0 ? 1 : 0, Activation.Sigmoid => y * (1 - y), _ => 1 - y * y,
    };

    /// <summary>CPU double reference: output, input gradient and each parameter's gradient of the mean-squared loss.</summary>
    internal static (double[] Y, double[] GradX, Dictionary<string, double[]> Grads) Reference(CompiledNetwork c, int[] widths, Activation act, int batch)
    {
        double[] P(string n) => c.Parameters[n].ToArray().Select(v => (double)v).ToArray();
        var x = RandomData.Uniform(batch * widths[0], 3).Select(v => (double)(float)v).ToArray();
        var target = RandomData.Uniform(batch * widths[^1], 4).Select(v => (double)(float)v).ToArray();
        var acts = new List<double[]> { x };
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            var z = RefLinear.Forward(acts[^1], P($"fc{l}.weight"), P($"fc{l}.bias"), batch, widths[l], widths[l + 1]);
            acts.Add(l + 2 < widths.Length ? z.Select(v => Act(act, v)).ToArray() : z);
        }
        var grads = new Dictionary<string, double[]>();
        var d = RefMseLoss.Backward(acts[^1], target);
        for (int l = widths.Length - 2; l >= 0; l--)
        {
            var (gx, gw, gb) = RefLinear.Backward(acts[l], P($"fc{l}.weight"), d, batch, widths[l], widths[l + 1]);
            grads[$"fc{l}.weight"] = gw;
            grads[$"fc{l}.bias"] = gb;
            d = l > 0 ? gx.Select((g, i) => g * ActGrad(act, acts[l][i])).ToArray() : gx;
        }
        return (acts[^1], d, grads);
    }

    internal static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(new[] { 2, 8, 8, 1 }, Activation.Tanh, 256).SetName("playground_mlp_b256");
        yield return new TestCaseData(new[] { 3, 64, 64, 64, 64, 3 }, Activation.ReLU, 2048).SetName("mlp_64x4_b2048");
        yield return new TestCaseData(new[] { 2, 16, 16, 16, 1 }, Activation.Tanh, 100).SetName("playground_preset_3x16");
        yield return new TestCaseData(new[] { 1, 1, 1 }, Activation.Tanh, 1).SetName("width1_batch1");
        yield return new TestCaseData(new[] { 5, 64, 7 }, Activation.Sigmoid, 37).SetName("5_64_7_batch37");
        yield return new TestCaseData(new[] { 3, 17, 1, 33, 2, 64, 9, 4, 6 }, Activation.Tanh, 333).SetName("eight_layers_odd_widths");
    }

    [TestCaseSource(nameof(Shapes))]
    public void ForwardAndGradients_MatchTheCpuReferenceAndTheUnfusedKernels(int[] widths, Activation act, int batch)
    {
        using var fused = Compile(widths, act, batch, fuse: true, inputGrads: true);
        using var plain = Compile(widths, act, batch, fuse: false, inputGrads: true);
        Assert.That(fused.Parameters.Keys, Is.EqualTo(plain.Parameters.Keys), "the fused layer keeps the linears' parameter names");
        Assert.That(fused.Plan.Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.fwd").And.Contain("mlp/mlp.bwd").And.Contain("mlp/mlp.reduce"));
        Assert.That(plain.Plan.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")), Is.Empty);
        AssertMatchesReferenceAndUnfused(fused, plain, widths, act, batch);
    }

    /// <summary>Runs both networks and checks the fused one's output and gradients against the CPU reference and the unfused network.</summary>
    internal static void AssertMatchesReferenceAndUnfused(CompiledNetwork fused, CompiledNetwork plain, int[] widths, Activation act, int batch)
    {
        var (y, gx, grads) = Reference(fused, widths, act, batch);
        fused.Run();
        plain.Run();
        Assert.That(RelativeError.MaxRelative(fused.GetOutput("y"), y), Is.LessThan(Tolerances.Forward), "output vs CPU");
        Assert.That(RelativeError.MaxRelative(fused.GetOutput("y"), plain.GetOutput("y")), Is.LessThan(Tolerances.Forward), "output vs unfused");
        Assert.That(RelativeError.MaxRelative(fused.InputGradients["x"].ToArray(), gx), Is.LessThan(Tolerances.Gradient), "input gradient vs CPU");
        foreach (var (name, g) in grads)
        {
            Assert.That(RelativeError.MaxRelative(fused.Gradients[name].ToArray(), g), Is.LessThan(Tolerances.Gradient), $"{name} gradient vs CPU");
            Assert.That(RelativeError.MaxRelative(fused.Gradients[name].ToArray(), plain.Gradients[name].ToArray()),
                Is.LessThan(Tolerances.Gradient), $"{name} gradient vs unfused");
        }
    }

    [TestCase("sgd")]
    [TestCase("adam")]
    public void TrainingSteps_FollowTheUnfusedKernelsAndTheCpuSgd(string optimizer)
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        const int batch = 300;
        Optimizer Opt() => optimizer == "sgd" ? new Sgd() : new Adam();
        using var fused = Compile(widths, Activation.ReLU, batch, fuse: true, Opt(), 0.01f);
        using var plain = Compile(widths, Activation.ReLU, batch, fuse: false, Opt(), 0.01f);
        Assert.That(fused.Plan.Dispatches.Count(d => d.Kernel.StartsWith("mlp/")), Is.EqualTo(3));
        var expected = fused.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray().Select(v => (double)v).ToArray());
        for (int step = 0; step < 4; step++)
        {
            if (optimizer == "sgd")
            {
                var (_, _, grads) = Reference(fused, widths, Activation.ReLU, batch);
                foreach (var (name, g) in grads) expected[name] = RefSgd.Step(expected[name], g, 0.01);
            }
            fused.Run();
            plain.Run();
        }
        foreach (var name in fused.Parameters.Keys)
        {
            var p = fused.Parameters[name].ToArray();
            Assert.That(RelativeError.MaxRelative(p, plain.Parameters[name].ToArray()), Is.LessThan(Trajectory), $"{name} vs unfused after 4 steps");
            if (optimizer == "sgd") Assert.That(RelativeError.MaxRelative(p, expected[name]), Is.LessThan(Trajectory), $"{name} vs CPU SGD after 4 steps");
        }
    }

    [Test]
    public void TwoRuns_AreBitIdentical()
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        float[][] Train()
        {
            using var c = Compile(widths, Activation.ReLU, 2053, fuse: true, new Sgd(), 0.01f);
            for (int i = 0; i < 3; i++) c.Run();
            return c.Parameters.Values.Select(t => t.ToArray()).Concat(c.Gradients.Values.Select(t => t.ToArray())).ToArray();
        }
        var a = Train();
        var b = Train();
        Assert.That(a.Length, Is.EqualTo(b.Length));
        for (int i = 0; i < a.Length; i++) Assert.That(a[i], Is.EqualTo(b[i]).AsCollection, $"tensor {i}");
    }
}
