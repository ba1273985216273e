using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// Schedules computed on the GPU from the step counter give torch.optim.lr_scheduler's rate at every step
/// (tests/fixtures/make_fixtures_optim.py), while one recorded step is replayed: nothing is re-recorded or uploaded.
/// </summary>
public sealed class LearningRateScheduleTests : GpuTest
{
    /// <summary>One f32 evaluation of a power, a cosine or a linear ramp per step.</summary>
    const double Rate = 1e-6;

    static IEnumerable<TestCaseData> Cases() => Fixture.All("lr_schedule");

    static CompiledNetwork Compile(LearningRateSchedule schedule, float lr) =>
        new Sequential(new Linear(1, 1)).WithLoss(new MseLoss()).Compile(Gpu.Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 1), ["target"] = new Shape(2, 1) },
            Training = true,
            LearningRate = lr,
            Schedule = schedule,
        });

    [TestCaseSource(nameof(Cases))]
    public void ReplayedStepsFollowPyTorchsSchedule(Fixture f)
    {
        using var compiled = Compile(OptimFixtures.Schedule(f), (float)f.Double("lr"));
        compiled.SetInput("x", new[] { 0.5f, -1f });
        compiled.SetInput("target", new[] { 1f, 2f });
        var lrs = new double[f.Int("steps")];
        for (int k = 0; k < lrs.Length; k++)
        {
            compiled.Run();
            lrs[k] = compiled.ReadStepState().LearningRate;
        }
        Assert.That(RelativeError.MaxRelative(lrs, f["y"].Data), Is.LessThan(Rate));
        Assert.That(compiled.StepCount, Is.EqualTo((uint)lrs.Length));
    }

    [Test]
    public void ChangingTheBaseRateFromTheHost_ScalesTheScheduleFromTheNextStep()
    {
        var f = Fixture.Load("lr_schedule_step");
        using var compiled = Compile(OptimFixtures.Schedule(f), (float)f.Double("lr"));
        var expected = f["y"].Data.ToArray();
        var lrs = new double[expected.Length];
        for (int k = 0; k < lrs.Length; k++)
        {
            if (k == 5) compiled.LearningRate = 3 * (float)f.Double("lr");
            if (k >= 5) expected[k] *= 3;
            compiled.Run();
            lrs[k] = compiled.ReadStepState().LearningRate;
        }
        Assert.That(RelativeError.MaxRelative(lrs, expected), Is.LessThan(Rate));
        Assert.That(compiled.ReadStepState().BaseLearningRate, Is.EqualTo(3 * (float)f.Double("lr")));
    }
}
