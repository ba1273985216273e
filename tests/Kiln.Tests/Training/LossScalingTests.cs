using Kiln.Training;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// Dynamic loss scaling (<see cref="LossScaling"/>), on f32 networks so that only the scaling differs: gradients carry
/// the scale and the update takes it out again; a step with non-finite gradients changes no parameter, halves the
/// scale and leaves the step counter; finite steps grow it; the state survives a checkpoint.
/// </summary>
public sealed class LossScalingTests : GpuTest
{
    /// <summary>Scaling by a power of two is exact in f32; the update divides by the same power.</summary>
    const double Exact = 1e-6;

    static readonly float[] X = Enumerable.Range(0, 4 * 6).Select(i => (float)Math.Sin(0.7 * i)).ToArray();
    static readonly float[] Target = Enumerable.Range(0, 4 * 3).Select(i => (float)Math.Cos(0.4 * i)).ToArray();

    static CompiledNetwork Compile(LossScaling? scaling, Optimizer? optimizer = null, float learningRate = 0.1f)
    {
        var net = new Sequential(new Linear(6, 5), new Tanh(), new Linear(5, 3)).WithLoss(new MseLoss());
        var compiled = net.Compile(Gpu.Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(4, 6), ["target"] = new Shape(4, 3) },
            Training = true,
            Optimizer = optimizer ?? new Sgd(),
            LearningRate = learningRate,
            LossScaling = scaling,
            Seed = 5,
        });
        compiled.SetInput("x", X);
        compiled.SetInput("target", Target);
        return compiled;
    }

    static Dictionary<string, float[]> Snapshot(IReadOnlyDictionary<string, Tensor> tensors) => tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    [Test]
    public void Fp32Training_IsNotScaledUnlessAsked()
    {
        using var plain = Compile(null);
        Assert.That(plain.ReadStepState().LossScale, Is.EqualTo(1f));
        Assert.That(plain.Plan.Dispatches.Select(d => d.Kernel), Has.None.Contains("loss_scale"), "neither the pass nor the gradient-norm sum's variant");
    }

    [TestCase(typeof(Sgd))]
    [TestCase(typeof(Adam))]
    public void Gradients_CarryTheScale_AndTheUpdateRemovesIt(Type optimizer)
    {
        using var plain = Compile(LossScaling.Off, (Optimizer)Activator.CreateInstance(optimizer)!);
        using var scaled = Compile(new LossScaling { Initial = 1024f, GrowthInterval = 0 }, (Optimizer)Activator.CreateInstance(optimizer)!);
        for (int step = 0; step < 3; step++)
        {
            plain.Run();
            scaled.Run();
            foreach (var (name, g) in Snapshot(plain.Gradients))
                F16Close(scaled.Gradients[name].ToArray().Select(v => v / 1024f).ToArray(), g, $"step {step}: gradient of {name} / 1024");
            foreach (var (name, w) in Snapshot(plain.Parameters))
                F16Close(scaled.Parameters[name].ToArray(), w, $"step {step}: {name} after the update");
        }
        var state = scaled.ReadStepState();
        Assert.That((state.Step, state.LossScale, state.SkippedSteps), Is.EqualTo((3u, 1024f, 0u)));
    }

    static void F16Close(float[] actual, float[] expected, string what) => Layers.F16StorageCheck.Close(actual, expected, Exact, what);

    [Test]
    public void NonFiniteGradients_SkipTheStep_AndHalveTheScale()
    {
        // 2^126 times gradients near 1 overflows f32 in the sum of squares (and 2^127 would overflow the gradients).
        using var compiled = Compile(new LossScaling { Initial = MathF.Pow(2, 126), GrowthInterval = 0 });
        var before = Snapshot(compiled.Parameters);
        compiled.Run();
        var state = compiled.ReadStepState();
        Assert.That(state.Step, Is.EqualTo(0u), "a skipped step does not count");
        Assert.That(state.SkippedSteps, Is.EqualTo(1u));
        Assert.That(state.LossScale, Is.EqualTo(MathF.Pow(2, 125)));
        foreach (var (name, w) in before) Assert.That(compiled.Parameters[name].ToArray(), Is.EqualTo(w), $"{name} must not change on a skipped step");

        // The scale halves until the gradients fit, then training goes on.
        for (int i = 0; i < 200 && compiled.ReadStepState().Step == 0; i++) compiled.Run();
        state = compiled.ReadStepState();
        Assert.That(state.Step, Is.EqualTo(1u));
        Assert.That(state.LossScale, Is.LessThan(MathF.Pow(2, 110)));
        Assert.That(compiled.Parameters.Any(p => !p.Value.ToArray().SequenceEqual(before[p.Key])), "the first finite step updates");
    }

    [Test]
    public void FiniteSteps_GrowTheScale_AfterTheInterval()
    {
        using var compiled = Compile(new LossScaling { Initial = 8f, GrowthInterval = 3 });
        var scales = new List<float>();
        for (int i = 0; i < 7; i++)
        {
            compiled.Run();
            scales.Add(compiled.ReadStepState().LossScale);
        }
        Assert.That(scales, Is.EqualTo(new[] { 8f, 8f, 16f, 16f, 16f, 32f, 32f }));
    }

    [Test]
    public void LossScale_SurvivesACheckpoint()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kiln-loss-scale-{Environment.ProcessId}.safetensors");
        try
        {
            using var first = Compile(new LossScaling { Initial = 8f, GrowthInterval = 2 });
            for (int i = 0; i < 3; i++) first.Run();
            Checkpoint.Save(path, first);
            var saved = first.ReadStepState();
            Assert.That((saved.LossScale, saved.GoodSteps), Is.EqualTo((16f, 1u)));

            using var resumed = Compile(new LossScaling { Initial = 8f, GrowthInterval = 2 });
            Checkpoint.Read(path).LoadInto(resumed, trainingState: true);
            Assert.That(resumed.ReadStepState(), Is.EqualTo(saved));
            first.Run();
            resumed.Run();
            Assert.That(resumed.ReadStepState(), Is.EqualTo(first.ReadStepState()));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void InvalidScaling_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Compile(new LossScaling { Initial = 0.5f }));
        Assert.That(e!.Message, Does.Contain("LossScaling.Initial"));
    }
}
