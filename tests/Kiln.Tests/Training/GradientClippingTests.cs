using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// Global-norm clipping over a UNet's many gradients (several levels of the pairwise tree) against the
/// norm computed on the CPU from the same gradients; the factor is exactly 1 below the limit. (The trajectories in
/// <see cref="OptimizerTrajectoryTests"/> check it against clip_grad_norm_ step by step.)
/// </summary>
public sealed class GradientClippingTests : GpuTest
{
    /// <summary>A sum of ~10^4 f32 squares in another order than the CPU's double sum.</summary>
    const double Norm = 1e-5;

    static CompiledNetwork Compile(float clip) => InpaintUNet.BuildForTraining(4, 8, 8).Compile(Gpu.Context, new CompileOptions
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, 4, 8, 8), ["target"] = new Shape(1, 3, 8, 8) },
        Training = true,
        LearningRate = 0,
        ClipGradientNorm = clip,
        Seed = 3,
    });

    static void SetInputs(CompiledNetwork c)
    {
        c.SetInput("x", Enumerable.Range(0, 4 * 64).Select(i => (float)Math.Sin(0.3 * i)).ToArray());
        c.SetInput("target", Enumerable.Range(0, 3 * 64).Select(i => (float)Math.Cos(0.2 * i)).ToArray());
    }

    static double CpuNorm(CompiledNetwork c) =>
        Math.Sqrt(c.Gradients.Values.Sum(g => g.ToArray().Sum(v => (double)v * v)));

    [Test]
    public void Factor_IsMaxNormOverTheGlobalNorm_AboveTheLimit()
    {
        const float clip = 1e-4f;
        using var compiled = Compile(clip);
        Assert.That(compiled.Gradients.Count, Is.GreaterThan(8), "several levels of the pairwise tree");
        SetInputs(compiled);
        compiled.Run();
        double norm = CpuNorm(compiled);
        Assert.That(norm, Is.GreaterThan(10 * clip), "the case must clip");
        double expected = clip / (norm + 1e-6);
        Assert.That(Math.Abs(compiled.ReadStepState().GradientScale - expected) / expected, Is.LessThan(Norm));
    }

    [Test]
    public void Factor_IsOne_BelowTheLimit()
    {
        using var compiled = Compile(1e6f);
        SetInputs(compiled);
        compiled.Run();
        Assert.That(compiled.ReadStepState().GradientScale, Is.EqualTo(1f));
    }

    /// <summary>
    /// The GPU's split sums of squares (SplitReduction, forced on lavapipe): a weight gradient of 1,001,000 elements over
    /// many workgroups and a bias of 1001 (not a multiple of 4; with the small gradients, summed in one workgroup), against
    /// the CPU's double norm.
    /// </summary>
    [Test]
    public void Factor_OnTheSplitReduction_MatchesTheCpuNorm()
    {
        const float clip = 1e-3f;
        using var compiled = new Sequential(new Linear(1000, 1001)).WithLoss(new MseLoss()).Compile(Gpu.Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 1000), ["target"] = new Shape(2, 1001) },
            Training = true,
            LearningRate = 0,
            ClipGradientNorm = clip,
            Seed = 5,
            PreferKernels = new[] { "SplitReduction" },
        });
        var squares = compiled.Plan.Dispatches.Where(d => d.Kernel == "reduce/sum_squares").ToList();
        Assert.That(squares, Has.Count.EqualTo(1));
        Assert.That(squares[0].Groups, Does.Not.StartWith("1x"), "the weight gradient's sum is split");
        Assert.That(compiled.Plan.Dispatches.Where(d => d.Kernel.StartsWith("reduce/sum_squares_many", StringComparison.Ordinal)).Select(d => d.Label),
            Is.EqualTo(new[] { "grad_norm.total.clip_scale" }),
            "the bias's squares and the weight's split sum added by one dispatch, which writes the factor too");
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel), Has.None.EqualTo("optim/clip_scale"), "no dispatch of its own");
        compiled.SetInput("x", Enumerable.Range(0, 2000).Select(i => (float)Math.Sin(0.01 * i)).ToArray());
        compiled.SetInput("target", Enumerable.Range(0, 2002).Select(i => (float)Math.Cos(0.02 * i)).ToArray());
        RunAndCheckTheFactor(compiled, clip);
    }

    /// <summary>
    /// Twenty items (ten large weight gradients' split sums, ten small biases, in the order the backward pass writes
    /// them): the earliest 13 added eight at a time over two levels, their sum and the last 7 by the dispatch that writes
    /// the factor. The factor still matches the CPU's double norm.
    /// </summary>
    [Test]
    public void Factor_OverSeveralLevelsOfSums_MatchesTheCpuNorm()
    {
        const float clip = 1e-3f;
        var layers = Enumerable.Range(0, 10).SelectMany(_ => new Layer[] { new Linear(130, 130), new Tanh() }).ToArray();
        using var compiled = new Sequential(layers).WithLoss(new MseLoss()).Compile(Gpu.Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(4, 130), ["target"] = new Shape(4, 130) },
            Training = true,
            LearningRate = 0,
            ClipGradientNorm = clip,
            Seed = 6,
        });
        Assert.That(compiled.Plan.Dispatches.Where(d => d.Kernel.StartsWith("reduce/sum_squares_many", StringComparison.Ordinal)).Select(d => d.Label),
            Is.EquivalentTo(new[] { "grad_norm.part0_0", "grad_norm.part0_1", "grad_norm.part1_0", "grad_norm.total.clip_scale" }), "the last one writes the factor");
        compiled.SetInput("x", Enumerable.Range(0, 520).Select(i => (float)Math.Sin(0.03 * i)).ToArray());
        compiled.SetInput("target", Enumerable.Range(0, 520).Select(i => (float)Math.Cos(0.05 * i)).ToArray());
        RunAndCheckTheFactor(compiled, clip);
    }

    /// <summary>One step; the case must clip, and the factor in the step state must be clip / (norm + 1e-6) of the CPU's norm.</summary>
    static void RunAndCheckTheFactor(CompiledNetwork compiled, float clip)
    {
        compiled.Run();
        double norm = CpuNorm(compiled);
        Assert.That(norm, Is.GreaterThan(10 * clip), "the case must clip");
        double expected = clip / (norm + 1e-6);
        Assert.That(Math.Abs(compiled.ReadStepState().GradientScale - expected) / expected, Is.LessThan(Norm));
    }
}
