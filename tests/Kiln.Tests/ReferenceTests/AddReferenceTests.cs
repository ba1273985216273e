using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefAdd"/> is element-wise addition of two same-shaped tensors.</summary>
public sealed class AddReferenceTests
{
    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "add" })]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(RefAdd.Forward(f["x0"].Data, f["x1"].Data), f, "y");

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "add" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (ga, gb) = RefAdd.Backward(f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(ga, f, "grad_x0");
        ReferenceAssert.MatchesFixture(gb, f, "grad_x1");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var a = RandomData.Uniform(24, 1);
        var b = RandomData.Uniform(24, 2);
        ReferenceAssert.MatchesFiniteDifferences("x0", v => RefAdd.Forward(v, b), a, g => RefAdd.Backward(g).GradA);
        ReferenceAssert.MatchesFiniteDifferences("x1", v => RefAdd.Forward(a, v), b, g => RefAdd.Backward(g).GradB);
    }
}
