using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefAdd"/> is element-wise addition of two same-shaped tensors; <see cref="RefBroadcast"/> covers broadcast ones.</summary>
public sealed class AddReferenceTests
{
    static IEnumerable<TestCaseData> SameShape() =>
        Fixture.All("add").Where(c => c.Arguments[0] is Fixture f && f["x0"].Shape.SequenceEqual(f["x1"].Shape));

    [TestCaseSource(nameof(SameShape))]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefAdd.Forward(f["x0"].Data, f["x1"].Data), f, "y");

    [TestCaseSource(nameof(SameShape))]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (ga, gb) = RefAdd.Backward(f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(ga, f, "grad_x0");
        ReferenceAssert.MatchesFixture(gb, f, "grad_x1");
    }

    /// <summary>Every add fixture, broadcast ones included, through <see cref="RefBroadcast"/>.</summary>
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "add" })]
    public void BroadcastingMatchesPyTorch(Fixture f) => ElementwiseReferenceTests.BroadcastMatchesFixture(f);

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var a = RandomData.Uniform(24, 1);
        var b = RandomData.Uniform(24, 2);
        ReferenceAssert.MatchesFiniteDifferences("x0", v => RefAdd.Forward(v, b), a, g => RefAdd.Backward(g).GradA);
        ReferenceAssert.MatchesFiniteDifferences("x1", v => RefAdd.Forward(a, v), b, g => RefAdd.Backward(g).GradB);
    }
}
