using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>Bad optimizer, schedule and clipping settings are rejected at compile time, naming the setting. Needs no GPU.</summary>
public sealed class OptimizerOptionsTests
{
    static readonly DeviceInfo Device = new() { Name = "plan-only", MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30 };

    static void Plan(CompileOptions o) =>
        new Sequential(new Linear(2, 1)).WithLoss(new MseLoss()).Plan(Device, o with
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(3, 2), ["target"] = new Shape(3, 1) },
            Training = true,
        });

    static IEnumerable<TestCaseData> Bad()
    {
        yield return new TestCaseData(new CompileOptions { Optimizer = new Sgd { Nesterov = true } }, "Nesterov").SetArgDisplayNames("Nesterov");
        yield return new TestCaseData(new CompileOptions { Optimizer = new Sgd { Momentum = -1 } }, "Momentum").SetArgDisplayNames("Momentum");
        yield return new TestCaseData(new CompileOptions { Optimizer = new Adam { Beta2 = 1f } }, "Beta2").SetArgDisplayNames("Beta2");
        yield return new TestCaseData(new CompileOptions { Optimizer = new AdamW { WeightDecay = -0.1f } }, "AdamW.WeightDecay").SetArgDisplayNames("AdamW.WeightDecay");
        yield return new TestCaseData(new CompileOptions { Schedule = new StepDecay { StepSize = 0 } }, "StepSize").SetArgDisplayNames("StepSize");
        yield return new TestCaseData(new CompileOptions { Schedule = new CosineAnnealing { TMax = -3 } }, "TMax").SetArgDisplayNames("TMax");
        yield return new TestCaseData(new CompileOptions { Schedule = new LinearWarmup { Steps = 3, StartFactor = 0 } }, "StartFactor").SetArgDisplayNames("StartFactor");
        yield return new TestCaseData(new CompileOptions { Schedule = new LinearWarmup { Steps = 3, Then = new LinearWarmup { Steps = 2 } } }, "Then").SetArgDisplayNames("Then");
        yield return new TestCaseData(new CompileOptions { ClipGradientNorm = 0 }, "ClipGradientNorm").SetArgDisplayNames("ClipGradientNorm");
        yield return new TestCaseData(new CompileOptions { L1 = -1 }, "L1").SetArgDisplayNames("L1");
        yield return new TestCaseData(new CompileOptions { L2 = float.NaN }, "L2").SetArgDisplayNames("L2");
    }

    [TestCaseSource(nameof(Bad))]
    public void BadSetting_IsRejectedByName(CompileOptions options, string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Plan(options));
        Assert.That(e!.Message, Does.Contain(name));
    }

    [Test]
    public void TheUpdatePhase_ComputesTheRateFirstAndAdvancesTheCounterLast()
    {
        var plan = new Sequential(new Linear(2, 1)).WithLoss(new MseLoss()).Plan(Device, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(3, 2), ["target"] = new Shape(3, 1) },
            Training = true,
            Optimizer = new Sgd { Momentum = 0.9f },
            ClipGradientNorm = 1,
        });
        var update = plan.Dispatches.Where(d => d.Phase == "update").OrderBy(d => d.Level).ToList();
        Assert.That(update.First().Kernel, Is.EqualTo("lr/constant"));
        Assert.That(update.Last().Kernel, Is.EqualTo("optim/step_state"));
        // Both small gradients summed in one dispatch, which writes the clipping factor too.
        int clipLevel = update.Single(d => d.Kernel == "reduce/sum_squares_many.clip_scale").Level;
        Assert.That(update.Where(d => d.Kernel == "optim/sgd_momentum").Select(d => d.Level), Has.All.GreaterThan(clipLevel));
        Assert.That(update.Select(d => d.Kernel), Has.None.EqualTo("optim/clip_scale").And.None.EqualTo("reduce/sum_squares_many"));
    }
}
