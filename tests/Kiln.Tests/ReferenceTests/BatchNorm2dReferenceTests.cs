using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefBatchNorm2d"/> is torch.nn.functional.batch_norm (training and eval forms, running statistics update).</summary>
public sealed class BatchNorm2dReferenceTests
{
    internal static (int N, int C, int HW) Dims(Fixture f)
    {
        var s = f["x"].Shape;
        return (s[0], s[1], s[2] * s[3]);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "batch_norm2d" })]
    public void ForwardAndRunningStatisticsMatchPyTorch(Fixture f)
    {
        var (n, c, hw) = Dims(f);
        double eps = f.Double("eps");
        double[] x = f["x"].Data, w = f["weight"].Data, b = f["bias"].Data;
        if (f.Bool("training"))
        {
            ReferenceAssert.MatchesFixture(RefBatchNorm2d.ForwardTraining(x, w, b, n, c, hw, eps), f, "y");
            var (rm, rv) = RefBatchNorm2d.UpdateRunning(x, new double[c], Enumerable.Repeat(1.0, c).ToArray(), n, c, hw, f.Double("momentum"));
            ReferenceAssert.MatchesFixture(rm, f, "running_mean_after");
            ReferenceAssert.MatchesFixture(rv, f, "running_var_after");
        }
        else
            ReferenceAssert.MatchesFixture(RefBatchNorm2d.ForwardEval(x, w, b, f["running_mean"].Data, f["running_var"].Data, n, c, hw, eps), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "batch_norm2d" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (n, c, hw) = Dims(f);
        double eps = f.Double("eps");
        double[] x = f["x"].Data, w = f["weight"].Data, gy = f["grad_y"].Data;
        var (gx, gw, gb) = f.Bool("training")
            ? RefBatchNorm2d.BackwardTraining(x, w, gy, n, c, hw, eps)
            : RefBatchNorm2d.BackwardEval(x, w, f["running_mean"].Data, f["running_var"].Data, gy, n, c, hw, eps);
        ReferenceAssert.MatchesFixture(gx, f, "grad_x");
        ReferenceAssert.MatchesFixture(gw, f, "grad_weight");
        ReferenceAssert.MatchesFixture(gb, f, "grad_bias");
    }

    [TestCase(2, 3, 4)]
    [TestCase(5, 2, 1)]
    public void TrainingBackwardMatchesFiniteDifferences(int n, int c, int hw)
    {
        var x = RandomData.Uniform(n * c * hw, 11, -2, 2);
        var w = RandomData.Uniform(c, 12, 0.5, 1.5);
        var b = RandomData.Uniform(c, 13);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefBatchNorm2d.ForwardTraining(v, w, b, n, c, hw), x,
            g => RefBatchNorm2d.BackwardTraining(x, w, g, n, c, hw).GradX);
        ReferenceAssert.MatchesFiniteDifferences("weight", v => RefBatchNorm2d.ForwardTraining(x, v, b, n, c, hw), w,
            g => RefBatchNorm2d.BackwardTraining(x, w, g, n, c, hw).GradWeight);
        ReferenceAssert.MatchesFiniteDifferences("bias", v => RefBatchNorm2d.ForwardTraining(x, w, v, n, c, hw), b,
            g => RefBatchNorm2d.BackwardTraining(x, w, g, n, c, hw).GradBias);
    }

    [Test]
    public void EvalBackwardMatchesFiniteDifferences()
    {
        int n = 2, c = 3, hw = 4;
        var x = RandomData.Uniform(n * c * hw, 21, -2, 2);
        var w = RandomData.Uniform(c, 22, 0.5, 1.5);
        var b = RandomData.Uniform(c, 23);
        var rm = RandomData.Uniform(c, 24, -0.5, 0.5);
        var rv = RandomData.Uniform(c, 25, 0.5, 2);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefBatchNorm2d.ForwardEval(v, w, b, rm, rv, n, c, hw), x,
            g => RefBatchNorm2d.BackwardEval(x, w, rm, rv, g, n, c, hw).GradX);
        ReferenceAssert.MatchesFiniteDifferences("weight", v => RefBatchNorm2d.ForwardEval(x, v, b, rm, rv, n, c, hw), w,
            g => RefBatchNorm2d.BackwardEval(x, w, rm, rv, g, n, c, hw).GradWeight);
        ReferenceAssert.MatchesFiniteDifferences("bias", v => RefBatchNorm2d.ForwardEval(x, w, v, rm, rv, n, c, hw), b,
            g => RefBatchNorm2d.BackwardEval(x, w, rm, rv, g, n, c, hw).GradBias);
    }
}
