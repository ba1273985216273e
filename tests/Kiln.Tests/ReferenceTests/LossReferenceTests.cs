using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>
/// <see cref="RefMseLoss"/>, <see cref="RefL1Loss"/> (torch's mse_loss and l1_loss, mean reduction) and the masked
/// variants <see cref="RefMaskedMseLoss"/>, <see cref="RefMaskedL1Loss"/>: sum(mask * err) / max(sum(expanded mask), 1).
/// </summary>
public sealed class LossReferenceTests
{
    static readonly string[] Ops = { "mse_loss", "l1_loss", "masked_mse_loss", "masked_l1_loss" };

    static IEnumerable<TestCaseData> Fixtures() => Ops.SelectMany(Fixture.All);

    /// <summary>One loss with its dimensions bound: Forward(pred) and Backward(pred, upstream).</summary>
    sealed record Loss(Func<double[], double> Forward, Func<double[], double, double[]> Backward);

    static Loss Bind(string op, double[] target, double[]? mask, int[] shape)
    {
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        return op switch
        {
            "mse_loss" => new(p => RefMseLoss.Forward(p, target), (p, g) => RefMseLoss.Backward(p, target, g)),
            "l1_loss" => new(p => RefL1Loss.Forward(p, target), (p, g) => RefL1Loss.Backward(p, target, g)),
            "masked_mse_loss" => new(p => RefMaskedMseLoss.Forward(p, target, mask!, n, c, h, w),
                (p, g) => RefMaskedMseLoss.Backward(p, target, mask!, n, c, h, w, g)),
            "masked_l1_loss" => new(p => RefMaskedL1Loss.Forward(p, target, mask!, n, c, h, w),
                (p, g) => RefMaskedL1Loss.Backward(p, target, mask!, n, c, h, w, g)),
            _ => throw new ArgumentException(op),
        };
    }

    static Loss Bind(Fixture f) => Bind(f.Op, f["target"].Data, f.DataOrNull("mask"), f["pred"].Shape);

    [TestCaseSource(nameof(Fixtures))]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(Bind(f).Forward(f["pred"].Data), f, "y");

    [TestCaseSource(nameof(Fixtures))]
    public void BackwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(Bind(f).Backward(f["pred"].Data, f["grad_y"].Scalar), f, "grad_pred");

    [TestCase("mse_loss", false)]
    [TestCase("l1_loss", false)]
    [TestCase("masked_mse_loss", false)]
    [TestCase("masked_mse_loss", true)]
    [TestCase("masked_l1_loss", false)]
    [TestCase("masked_l1_loss", true)]
    public void BackwardMatchesFiniteDifferences(string op, bool perChannelMask)
    {
        int[] shape = { 2, 3, 2, 3 };
        int count = shape.Aggregate(1, (a, d) => a * d);
        var target = RandomData.Uniform(count, 1);
        // pred = target + an offset at least 0.05 from zero, so no step crosses the kink of |p - t|.
        var pred = RandomData.AwayFromZero(count, 2).Zip(target, (d, t) => t + d).ToArray();
        var mask = RandomData.Mask(perChannelMask ? count : 2 * 1 * 2 * 3, 3);
        var loss = Bind(op, target, mask, shape);
        ReferenceAssert.MatchesFiniteDifferences(op, loss.Forward, pred, g => loss.Backward(pred, g));
    }

    [Test]
    public void L1GradientIsZeroWherePredictionEqualsTarget()
    {
        var g = RefL1Loss.Backward(new double[] { 1, 2, 3 }, new double[] { 1, 0, 5 });
        Assert.That(g, Is.EqualTo(new[] { 0, 1 / 3.0, -1 / 3.0 }));
    }

    [Test]
    public void AChannelMaskIsRepeatedOverChannels()
    {
        // N=1, C=2, 1x2 pixels; mask [1,1,1,2] = [1, 0] selects pixel 0 of both channels: denominator 2.
        var pred = new double[] { 1, 9, 3, 9 };
        var target = new double[] { 0, 0, 0, 0 };
        Assert.That(RefMaskedL1Loss.Forward(pred, target, new double[] { 1, 0 }, 1, 2, 1, 2), Is.EqualTo(2));
        Assert.That(RefMaskedMseLoss.Forward(pred, target, new double[] { 1, 0 }, 1, 2, 1, 2), Is.EqualTo(5));
    }

    [Test]
    public void AnEmptyMaskGivesZeroLossAndZeroGradient()
    {
        var pred = new double[] { 1, 2 };
        var target = new double[] { 0, 0 };
        var empty = new double[] { 0, 0 };
        Assert.That(RefMaskedMseLoss.Forward(pred, target, empty, 1, 1, 1, 2), Is.EqualTo(0));
        Assert.That(RefMaskedMseLoss.Backward(pred, target, empty, 1, 1, 1, 2), Is.EqualTo(new double[] { 0, 0 }));
    }
}
