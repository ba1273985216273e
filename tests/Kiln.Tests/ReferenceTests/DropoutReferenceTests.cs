using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefDropout"/>'s hash mask: the right drop rate, new per step and seed, and a backward that is its derivative.</summary>
public sealed class DropoutReferenceTests
{
    [TestCase(0.5)]
    [TestCase(0.1)]
    [TestCase(0.9)]
    public void DropsAboutPOfTheElements(double p)
    {
        const int length = 100_000;
        double dropped = RefDropout.Mask(length, p, 7, 3).Count(k => !k) / (double)length;
        Assert.That(dropped, Is.EqualTo(p).Within(0.01));
    }

    [Test]
    public void ZeroKeepsEverything() => Assert.That(RefDropout.Mask(1000, 0, 1, 0), Is.All.True);

    [Test]
    public void StepsAndSeedsDrawDifferentMasks()
    {
        var a = RefDropout.Mask(1000, 0.5, 1, 0);
        Assert.That(RefDropout.Mask(1000, 0.5, 1, 1), Is.Not.EqualTo(a));
        Assert.That(RefDropout.Mask(1000, 0.5, 2, 0), Is.Not.EqualTo(a));
        Assert.That(RefDropout.Mask(1000, 0.5, 1, 0), Is.EqualTo(a));
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var x = RandomData.Uniform(50, 9);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefDropout.Forward(v, 0.3, 5, 2), x, g => RefDropout.Backward(g, 0.3, 5, 2));
    }
}
