using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>
/// <see cref="RefHuberLoss"/>, <see cref="RefBceWithLogitsLoss"/> and <see cref="RefSoftmaxCrossEntropyLoss"/>
/// (torch's huber_loss, binary_cross_entropy_with_logits and cross_entropy with probability targets, mean reduction)
/// against the PyTorch fixtures and finite differences, for the gradients of prediction and target.
/// </summary>
public sealed class Loss2ReferenceTests
{
    static readonly string[] Ops = { "huber_loss", "bce_with_logits_loss", "softmax_cross_entropy_loss" };

    static IEnumerable<TestCaseData> Fixtures() => Ops.SelectMany(Fixture.All);

    /// <summary>One loss with target, attributes and dimensions bound: forward(pred, target), and the gradients of each.</summary>
    sealed record Loss(Func<double[], double[], double> Forward, Func<double[], double[], double, double[]> GradPred,
        Func<double[], double[], double, double[]> GradTarget);

    static Loss Bind(string op, double delta, int n, int c) => op switch
    {
        "huber_loss" => new((p, t) => RefHuberLoss.Forward(p, t, delta), (p, t, g) => RefHuberLoss.Backward(p, t, delta, g),
            (p, t, g) => RefHuberLoss.BackwardTarget(p, t, delta, g)),
        "bce_with_logits_loss" => new(RefBceWithLogitsLoss.Forward, RefBceWithLogitsLoss.Backward, RefBceWithLogitsLoss.BackwardTarget),
        "softmax_cross_entropy_loss" => new((p, t) => RefSoftmaxCrossEntropyLoss.Forward(p, t, n, c),
            (p, t, g) => RefSoftmaxCrossEntropyLoss.Backward(p, t, n, c, g), (p, t, g) => RefSoftmaxCrossEntropyLoss.BackwardTarget(p, t, n, c, g)),
        _ => throw new ArgumentException(op),
    };

    static Loss Bind(Fixture f)
    {
        var s = f["pred"].Shape;
        return Bind(f.Op, f.Double("delta", 1), s[0], s.Length > 1 ? s[1] : 1);
    }

    [TestCaseSource(nameof(Fixtures))]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        Assert.That(f.Str("reduction"), Is.EqualTo("mean"));
        ReferenceAssert.MatchesFixture(Bind(f).Forward(f["pred"].Data, f["target"].Data), f, "y");
    }

    [TestCaseSource(nameof(Fixtures))]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var loss = Bind(f);
        double[] p = f["pred"].Data, t = f["target"].Data;
        double g = f["grad_y"].Scalar;
        ReferenceAssert.MatchesFixture(loss.GradPred(p, t, g), f, "grad_pred");
        ReferenceAssert.MatchesFixture(loss.GradTarget(p, t, g), f, "grad_target");
    }

    /// <summary>Prediction and target at which no finite-difference step crosses the kink |p - t| = delta of Huber.</summary>
    static (double[] Pred, double[] Target) HuberPoint(int count, double delta)
    {
        var target = RandomData.Uniform(count, 11);
        var d = RandomData.AwayFromZero(count, 12).Select(v => 2 * delta * v).ToArray();
        for (int i = 0; i < count; i++)
            if (Math.Abs(Math.Abs(d[i]) - delta) < 0.05 * delta) d[i] *= 1.2;
        return (d.Zip(target, (a, b) => a + b).ToArray(), target);
    }

    [TestCase("huber_loss", 1.0)]
    [TestCase("huber_loss", 0.3)]
    [TestCase("bce_with_logits_loss", 1.0)]
    [TestCase("softmax_cross_entropy_loss", 1.0)]
    public void BackwardMatchesFiniteDifferences(string op, double delta)
    {
        const int n = 3, c = 5, count = n * c;
        var (pred, target) = op switch
        {
            "huber_loss" => HuberPoint(count, delta),
            "bce_with_logits_loss" => (RandomData.Uniform(count, 21, -4, 4), RandomData.Uniform(count, 22, 0, 1)),
            _ => (RandomData.Uniform(count, 31, -3, 3), Probabilities(n, c, 32)),
        };
        var loss = Bind(op, delta, n, c);
        ReferenceAssert.MatchesFiniteDifferences($"{op} pred", p => loss.Forward(p, target), pred, g => loss.GradPred(pred, target, g));
        ReferenceAssert.MatchesFiniteDifferences($"{op} target", t => loss.Forward(pred, t), target, g => loss.GradTarget(pred, target, g));
    }

    static double[] Probabilities(int n, int c, int seed)
    {
        var t = RandomData.Uniform(n * c, seed, 0, 1);
        for (int r = 0; r < n; r++)
        {
            double s = t.Skip(r * c).Take(c).Sum();
            for (int k = 0; k < c; k++) t[r * c + k] /= s;
        }
        return t;
    }

    [Test]
    public void HuberIsHalfSquareInsideDeltaAndLinearOutside()
    {
        // d = 0.5 (inside): 0.125; d = -3 (outside, delta 1): 2.5. Mean 1.3125.
        Assert.That(RefHuberLoss.Forward(new double[] { 0.5, -3 }, new double[] { 0, 0 }), Is.EqualTo(1.3125));
        Assert.That(RefHuberLoss.Backward(new double[] { 0.5, -3 }, new double[] { 0, 0 }), Is.EqualTo(new[] { 0.25, -0.5 }));
    }

    [Test]
    public void BceOfHugeLogitsStaysFinite()
    {
        double l = RefBceWithLogitsLoss.Forward(new double[] { 1000, -1000 }, new double[] { 0, 1 });
        Assert.That(l, Is.EqualTo(1000).Within(1e-9));
        Assert.That(RefBceWithLogitsLoss.Backward(new double[] { 1000, -1000 }, new double[] { 0, 1 }), Is.EqualTo(new[] { 0.5, -0.5 }));
    }

    [Test]
    public void SoftmaxCrossEntropyOfUniformLogitsIsLogC()
    {
        var x = new double[] { 7, 7, 7, 7 };
        var t = new double[] { 0, 0, 1, 0 };
        Assert.That(RefSoftmaxCrossEntropyLoss.Forward(x, t, 1, 4), Is.EqualTo(Math.Log(4)).Within(1e-12));
        Assert.That(RefSoftmaxCrossEntropyLoss.Backward(x, t, 1, 4), Is.EqualTo(new[] { 0.25, 0.25, -0.75, 0.25 }).Within(1e-12));
    }
}
