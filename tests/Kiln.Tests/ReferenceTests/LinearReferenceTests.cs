using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefLinear"/> is torch.nn.functional.linear, forward and backward.</summary>
public sealed class LinearReferenceTests
{
    static (int N, int In, int Out) Dims(Fixture f) => (f["x"].Dim(0), f["x"].Dim(1), f["weight"].Dim(0));

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "linear" })]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        var (n, i, o) = Dims(f);
        ReferenceAssert.MatchesFixture(RefLinear.Forward(f["x"].Data, f["weight"].Data, f["bias"].Data, n, i, o), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "linear" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (n, i, o) = Dims(f);
        var (gx, gw, gb) = RefLinear.Backward(f["x"].Data, f["weight"].Data, f["grad_y"].Data, n, i, o);
        ReferenceAssert.MatchesFixture(gx, f, "grad_x");
        ReferenceAssert.MatchesFixture(gw, f, "grad_weight");
        ReferenceAssert.MatchesFixture(gb, f, "grad_bias");
    }

    [TestCase(1, 1, 1)]
    [TestCase(3, 5, 4)]
    [TestCase(2, 8, 1)]
    public void BackwardMatchesFiniteDifferences(int n, int inFeatures, int outFeatures)
    {
        var x = RandomData.Uniform(n * inFeatures, 1);
        var w = RandomData.Uniform(outFeatures * inFeatures, 2);
        var b = RandomData.Uniform(outFeatures, 3);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefLinear.Forward(v, w, b, n, inFeatures, outFeatures), x,
            g => RefLinear.Backward(x, w, g, n, inFeatures, outFeatures).GradX);
        ReferenceAssert.MatchesFiniteDifferences("weight", v => RefLinear.Forward(x, v, b, n, inFeatures, outFeatures), w,
            g => RefLinear.Backward(x, w, g, n, inFeatures, outFeatures).GradWeight);
        ReferenceAssert.MatchesFiniteDifferences("bias", v => RefLinear.Forward(x, w, v, n, inFeatures, outFeatures), b,
            g => RefLinear.Backward(x, w, g, n, inFeatures, outFeatures).GradBias);
    }

    [Test]
    public void WithoutBiasTheOutputIsTheProductAlone()
    {
        // x = [1, 2], weight = [[3, 4], [5, 6]] → y = [11, 17]
        Assert.That(RefLinear.Forward(new double[] { 1, 2 }, new double[] { 3, 4, 5, 6 }, null, 1, 2, 2),
            Is.EqualTo(new double[] { 11, 17 }));
    }
}
