using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// SGD, Adam and AdamW on the GPU follow torch.optim's trajectories (tests/fixtures/make_fixtures_optim.py): the
/// parameters after every step, the learning rate each step used and clip_grad_norm_'s factor, on an MLP and a
/// small conv net, from the same float32 start.
/// </summary>
public sealed class OptimizerTrajectoryTests : GpuTest
{
    /// <summary>
    /// f32 steps against a float64 PyTorch run: forward, backward and update round at ~1e-7 each step, and
    /// momentum and Adam's moments carry those errors through 8-10 steps (worst seen 3e-7 on lavapipe; Adam's bias
    /// correction from f32 betas alone would be 1e-5 off, which is why the kernel takes them from the host's doubles).
    /// </summary>
    const double Trajectory = 2e-6;
    /// <summary>The rate and the clipping factor are single f32 computations (a cosine, a power, a square root of a sum).</summary>
    const double Scalar = 1e-5;

    static IEnumerable<TestCaseData> Cases() => Fixture.All("optim_trajectory");

    [TestCaseSource(nameof(Cases))]
    public void ParametersFollowPyTorchAfterEveryStep(Fixture f)
    {
        using var compiled = OptimFixtures.Network(f.Str("net")).Compile(Context, OptimFixtures.Options(f));
        var names = OptimFixtures.ParameterNames(f);
        Assert.That(compiled.Parameters.Keys, Is.EqualTo(names), "Kiln's parameters, in PyTorch's order");
        foreach (var n in names) compiled.Parameters[n].Upload(f[n].Floats);
        compiled.SetInput("x", f["x"].Floats);
        compiled.SetInput("target", f["target"].Floats);

        int steps = f.Int("steps");
        var lrs = new double[steps];
        var scales = new double[steps];
        var losses = new double[steps];
        double worst = 0;
        for (int k = 1; k <= steps; k++)
        {
            compiled.Run();
            losses[k - 1] = compiled.GetOutput("loss")[0];
            var state = compiled.ReadStepState();
            lrs[k - 1] = state.LearningRate;
            scales[k - 1] = state.GradientScale;
            foreach (var n in names)
            {
                double err = RelativeError.MaxRelative(compiled.Parameters[n].ToArray(), f[$"{n}@{k}"].Data);
                worst = Math.Max(worst, err);
                Assert.That(err, Is.LessThan(Trajectory), $"{n} after step {k}");
            }
        }
        TestContext.Out.WriteLine($"{f.Name}: worst parameter error {worst:E2}");
        Assert.That(compiled.StepCount, Is.EqualTo((uint)steps));
        Assert.That(RelativeError.MaxRelative(losses, f["y"].Data), Is.LessThan(Tolerances.Forward), "loss of each step");
        Assert.That(RelativeError.MaxRelative(lrs, f["lr@step"].Data), Is.LessThan(Scalar), "learning rate per step");
        if (f.Has("clip_scale@step"))
            Assert.That(RelativeError.MaxRelative(scales, f["clip_scale@step"].Data), Is.LessThan(Scalar), "clipping factor per step");
        else
            Assert.That(scales, Is.All.EqualTo(1.0), "no clipping: the gradients are used as they are");
    }

    [Test]
    public void OptimizerState_IsNamedAfterTheParameterAndPyTorchsKeys()
    {
        var f = Fixture.Load("optim_trajectory_adam_amsgrad_conv");
        using var compiled = OptimFixtures.Network("conv").Compile(Context, OptimFixtures.Options(f));
        Assert.That(compiled.OptimizerState.Keys, Is.EquivalentTo(OptimFixtures.ParameterNames(f)
            .SelectMany(n => new[] { $"{n}.exp_avg", $"{n}.exp_avg_sq", $"{n}.max_exp_avg_sq" })));
        foreach (var (name, t) in compiled.OptimizerState)
            Assert.That(t.Shape, Is.EqualTo(compiled.Parameters[name[..name.LastIndexOf('.')]].Shape), name);
    }
}
