using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// Determinism (the same seed gives bit-identical parameters) and resuming: parameters, optimizer state and step
/// state copied into a fresh network continue the run exactly as if it had not stopped.
/// </summary>
public sealed class ResumeTests : GpuTest
{
    static CompileOptions Options(int seed) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 2, 4, 4), ["target"] = new Shape(2, 2) },
        Training = true,
        Optimizer = new AdamW { WeightDecay = 0.05f, Amsgrad = true },
        LearningRate = 0.02f,
        Schedule = new LinearWarmup { Steps = 2, StartFactor = 0.5f, Then = new CosineAnnealing { TMax = 6, EtaMin = 0.001f } },
        ClipGradientNorm = 0.3f,
        L2 = 0.01f,
        Seed = seed,
    };

    static CompiledNetwork Start(int seed)
    {
        var c = OptimFixtures.Network("conv").Compile(Gpu.Context, Options(seed));
        c.SetInput("x", Enumerable.Range(0, 64).Select(i => (float)Math.Sin(0.7 * i)).ToArray());
        c.SetInput("target", new[] { 2f, -1f, 0.5f, 3f });
        return c;
    }

    static Dictionary<string, float[]> Snapshot(CompiledNetwork c) =>
        c.Parameters.Concat(c.OptimizerState).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    [Test]
    public void TwoRunsWithTheSameSeed_GiveBitIdenticalParameters()
    {
        using var a = Start(seed: 7);
        using var b = Start(seed: 7);
        for (int i = 0; i < 5; i++) { a.Run(); b.Run(); }
        var sa = Snapshot(a);
        var sb = Snapshot(b);
        foreach (var (name, values) in sa)
            Assert.That(sb[name], Is.EqualTo(values), name);
        Assert.That(b.ReadStepState(), Is.EqualTo(a.ReadStepState()));
    }

    [Test]
    public void RestoredStateContinuesTheRunExactly()
    {
        using var straight = Start(seed: 1);
        for (int i = 0; i < 6; i++) straight.Run();

        using var first = Start(seed: 1);
        for (int i = 0; i < 3; i++) first.Run();
        var saved = Snapshot(first);
        var state = first.ReadStepState();
        Assert.That(state.Step, Is.EqualTo(3u));

        using var resumed = Start(seed: 2);
        foreach (var (name, values) in saved)
            (resumed.Parameters.TryGetValue(name, out var t) ? t : resumed.OptimizerState[name]).Upload(values);
        resumed.WriteStepState(state);
        Assert.That(resumed.ReadStepState(), Is.EqualTo(state));
        Assert.That(resumed.LearningRate, Is.EqualTo(state.BaseLearningRate));
        for (int i = 0; i < 3; i++) resumed.Run();

        var expected = Snapshot(straight);
        foreach (var (name, values) in Snapshot(resumed))
            Assert.That(values, Is.EqualTo(expected[name]), name);
        Assert.That(resumed.ReadStepState(), Is.EqualTo(straight.ReadStepState()));
    }

    [Test]
    public void WithoutTheStepState_TheResumedRunDiffers()
    {
        // The converse: the step counter matters (warm-up, cosine, Adam's bias correction), so this test can fail.
        using var straight = Start(seed: 1);
        for (int i = 0; i < 6; i++) straight.Run();
        using var first = Start(seed: 1);
        for (int i = 0; i < 3; i++) first.Run();
        using var resumed = Start(seed: 1);
        foreach (var (name, values) in Snapshot(first))
            (resumed.Parameters.TryGetValue(name, out var t) ? t : resumed.OptimizerState[name]).Upload(values);
        for (int i = 0; i < 3; i++) resumed.Run();
        Assert.That(resumed.Parameters["linear_0.weight"].ToArray(), Is.Not.EqualTo(straight.Parameters["linear_0.weight"].ToArray()));
    }
}
