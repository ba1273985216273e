using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefSgd"/> is torch.optim.SGD without momentum: w ← w - lr * g.</summary>
public sealed class SgdReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "sgd" })]
    public void StepMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefSgd.Step(f["weight"].Data, f["grad_weight"].Data, f.Double("lr")), f, "y");

    [Test]
    public void StepLeavesTheInputWeightsUnchanged()
    {
        var w = new double[] { 1, 2 };
        Assert.That(RefSgd.Step(w, new double[] { 10, -10 }, 0.5), Is.EqualTo(new double[] { -4, 7 }));
        Assert.That(w, Is.EqualTo(new double[] { 1, 2 }));
    }
}
