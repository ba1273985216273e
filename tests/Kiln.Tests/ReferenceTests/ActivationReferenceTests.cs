using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>
/// <see cref="RefReLU"/>, <see cref="RefLeakyReLU"/>, <see cref="RefSigmoid"/> and <see cref="RefTanh"/> are
/// torch.relu, leaky_relu, sigmoid and tanh, including PyTorch's derivative at the kink x = 0.
/// </summary>
public sealed class ActivationReferenceTests
{
    static readonly string[] Ops = { "relu", "leaky_relu", "sigmoid", "tanh" };

    static IEnumerable<TestCaseData> Fixtures() => Ops.SelectMany(Fixture.All);

    static double[] Forward(string op, double[] x, double slope) => op switch
    {
        "relu" => RefReLU.Forward(x),
        "leaky_relu" => RefLeakyReLU.Forward(x, slope),
        "sigmoid" => RefSigmoid.Forward(x),
        "tanh" => RefTanh.Forward(x),
        _ => throw new ArgumentException(op),
    };

    static double[] Backward(string op, double[] x, double[] gradY, double slope) => op switch
    {
        "relu" => RefReLU.Backward(x, gradY),
        "leaky_relu" => RefLeakyReLU.Backward(x, gradY, slope),
        "sigmoid" => RefSigmoid.Backward(x, gradY),
        "tanh" => RefTanh.Backward(x, gradY),
        _ => throw new ArgumentException(op),
    };

    static double Slope(Fixture f) => f.Double("negative_slope", RefLeakyReLU.DefaultSlope);

    [TestCaseSource(nameof(Fixtures))]
    public void ForwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(Forward(f.Op, f["x"].Data, Slope(f)), f, "y");

    [TestCaseSource(nameof(Fixtures))]
    public void BackwardMatchesPyTorch(Fixture f) =>
        ReferenceAssert.MatchesFixture(Backward(f.Op, f["x"].Data, f["grad_y"].Data, Slope(f)), f, "grad_x");

    [TestCase("relu")]
    [TestCase("leaky_relu")]
    [TestCase("sigmoid")]
    [TestCase("tanh")]
    public void BackwardMatchesFiniteDifferences(string op)
    {
        var x = RandomData.AwayFromZero(40, 1).Select(v => 3 * v).ToArray(); // both sides of 0 and the saturating tails
        ReferenceAssert.MatchesFiniteDifferences(op, v => Forward(op, v, 0.2), x, g => Backward(op, x, g, 0.2));
    }

    [Test]
    public void ReLUPassesNoGradientAtZero() =>
        Assert.That(RefReLU.Backward(new double[] { -1, 0, 1 }, new double[] { 5, 5, 5 }), Is.EqualTo(new double[] { 0, 0, 5 }));

    [Test]
    public void LeakyReLUUsesTheSlopeAtZero() =>
        Assert.That(RefLeakyReLU.Backward(new double[] { -1, 0, 1 }, new double[] { 5, 5, 5 }, 0.5), Is.EqualTo(new double[] { 2.5, 2.5, 5 }));
}
