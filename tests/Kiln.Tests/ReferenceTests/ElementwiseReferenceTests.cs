using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>
/// <see cref="RefMul"/>, <see cref="RefSub"/>, <see cref="RefDiv"/>, <see cref="RefClip"/>, <see cref="RefGelu"/> and
/// <see cref="RefPad"/> match PyTorch (tests/fixtures/make_fixtures_elementwise.py) and central differences.
/// </summary>
public sealed class ElementwiseReferenceTests
{
    static IEnumerable<TestCaseData> Binary() => new[] { "mul", "sub", "div" }.SelectMany(Fixture.All);

    static (double[] Y, double[] GradA, double[] GradB) RunBinary(string op, double[] a, double[] b, double[] gy) => op switch
    {
        "mul" => (RefMul.Forward(a, b), RefMul.Backward(a, b, gy).GradA, RefMul.Backward(a, b, gy).GradB),
        "sub" => (RefSub.Forward(a, b), RefSub.Backward(gy).GradA, RefSub.Backward(gy).GradB),
        "div" => (RefDiv.Forward(a, b), RefDiv.Backward(a, b, gy).GradA, RefDiv.Backward(a, b, gy).GradB),
        _ => throw new ArgumentException(op),
    };

    [TestCaseSource(nameof(Binary))]
    public void BinaryMatchesPyTorch(Fixture f)
    {
        var (a, b, gy) = (f["x0"], f["x1"], f["grad_y"].Data);
        if (a.Shape.SequenceEqual(b.Shape))
        {
            var (y, ga, gb) = RunBinary(f.Op, a.Data, b.Data, gy);
            ReferenceAssert.MatchesFixture(y, f, "y");
            ReferenceAssert.MatchesFixture(ga, f, "grad_x0");
            ReferenceAssert.MatchesFixture(gb, f, "grad_x1");
        }
        BroadcastMatchesFixture(f);
    }

    /// <summary>The broadcasting reference on any add/sub/mul/div fixture, same shapes or broadcast.</summary>
    internal static void BroadcastMatchesFixture(Fixture f)
    {
        var (forward, grad) = RefBroadcast.Op(f.Op);
        var (a, b) = (f["x0"], f["x1"]);
        ReferenceAssert.MatchesFixture(RefBroadcast.Forward(forward, a.Data, a.Shape, b.Data, b.Shape), f, "y");
        var (ga, gb) = RefBroadcast.Backward(grad, a.Data, a.Shape, b.Data, b.Shape, f["grad_y"].Data);
        ReferenceAssert.MatchesFixture(ga, f, "grad_x0");
        ReferenceAssert.MatchesFixture(gb, f, "grad_x1");
    }

    [TestCase("add", new[] { 2, 3, 4 }, new[] { 3, 1 })]
    [TestCase("sub", new[] { 4, 1 }, new[] { 2, 1, 3 })]
    [TestCase("mul", new[] { 1, 3, 1 }, new[] { 2, 1, 4 })]
    [TestCase("div", new[] { 2, 3 }, new[] { 3 })]
    [TestCase("div", new[] { 3 }, new[] { 2, 3 })]
    public void BroadcastBackwardMatchesFiniteDifferences(string op, int[] aShape, int[] bShape)
    {
        var (forward, grad) = RefBroadcast.Op(op);
        var a = RandomData.Uniform(RefBroadcast.Count(aShape), 5);
        var b = RandomData.AwayFromZero(RefBroadcast.Count(bShape), 6, 0.3);
        ReferenceAssert.MatchesFiniteDifferences("x0", v => RefBroadcast.Forward(forward, v, aShape, b, bShape), a,
            g => RefBroadcast.Backward(grad, a, aShape, b, bShape, g).GradA);
        ReferenceAssert.MatchesFiniteDifferences("x1", v => RefBroadcast.Forward(forward, a, aShape, v, bShape), b,
            g => RefBroadcast.Backward(grad, a, aShape, b, bShape, g).GradB);
    }

    [Test]
    public void BroadcastShapesFollowNumPy()
    {
        Assert.That(RefBroadcast.Shape(new[] { 5 }, new[] { 2, 3, 5 }), Is.EqualTo(new[] { 2, 3, 5 }));
        Assert.That(RefBroadcast.Shape(new[] { 3, 1, 5 }, new[] { 4, 1 }), Is.EqualTo(new[] { 3, 4, 5 }));
        Assert.Throws<ArgumentException>(() => RefBroadcast.Shape(new[] { 2, 3 }, new[] { 4 }));
    }

    [TestCase("mul")]
    [TestCase("sub")]
    [TestCase("div")]
    public void BinaryBackwardMatchesFiniteDifferences(string op)
    {
        var a = RandomData.Uniform(24, 1);
        var b = RandomData.AwayFromZero(24, 2, 0.3);
        ReferenceAssert.MatchesFiniteDifferences("x0", v => RunBinary(op, v, b, new double[24]).Y, a, g => RunBinary(op, a, b, g).GradA);
        ReferenceAssert.MatchesFiniteDifferences("x1", v => RunBinary(op, a, v, new double[24]).Y, b, g => RunBinary(op, a, b, g).GradB);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "clip" })]
    public void ClipMatchesPyTorch(Fixture f)
    {
        double lo = f.Double("min"), hi = f.Double("max");
        ReferenceAssert.MatchesFixture(RefClip.Forward(f["x"].Data, lo, hi), f, "y");
        ReferenceAssert.MatchesFixture(RefClip.Backward(f["x"].Data, f["grad_y"].Data, lo, hi), f, "grad_x");
    }

    [Test]
    public void ClipBackwardMatchesFiniteDifferences()
    {
        // Values k/8 + 1/16 never lie within a finite-difference step of the bounds -0.5 and 1.
        var x = Enumerable.Range(-16, 33).Select(k => k / 8.0 + 1.0 / 16).ToArray();
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefClip.Forward(v, -0.5, 1), x, g => RefClip.Backward(x, g, -0.5, 1));
    }

    [Test]
    public void ClipPassesTheGradientAtTheBounds() =>
        Assert.That(RefClip.Backward(new double[] { -1, -0.5, 0, 0.5, 1 }, new double[] { 3, 3, 3, 3, 3 }, -0.5, 0.5),
            Is.EqualTo(new double[] { 0, 3, 3, 3, 0 }));

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "gelu" })]
    public void GeluMatchesPyTorch(Fixture f)
    {
        ReferenceAssert.MatchesFixture(RefGelu.Forward(f["x"].Data), f, "y");
        ReferenceAssert.MatchesFixture(RefGelu.Backward(f["x"].Data, f["grad_y"].Data), f, "grad_x");
    }

    [Test]
    public void GeluBackwardMatchesFiniteDifferences()
    {
        var x = RandomData.Uniform(40, 3).Select(v => 6 * v).ToArray();
        ReferenceAssert.MatchesFiniteDifferences("x", RefGelu.Forward, x, g => RefGelu.Backward(x, g));
    }

    [TestCase(0.0, 1.0)]
    [TestCase(1.0, 0.157299207050285130658)]
    [TestCase(-1.0, 1.842700792949714869342)]
    [TestCase(3.0, 2.20904969985854413727e-5)]
    [TestCase(5.0, 1.53745979442803485018e-12)]
    public void ErfcMatchesTabulatedValues(double z, double expected) =>
        Assert.That(RefGelu.Erfc(z), Is.EqualTo(expected).Within(1e-11).Percent);

    static bool Replicate(Fixture f) => f.Str("mode") switch
    {
        "zero" => false,
        "replicate" => true,
        var m => throw new InvalidDataException($"{f.Name}: mode {m}"),
    };

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "pad" })]
    public void PadMatchesPyTorch(Fixture f)
    {
        var s = f["x"].Shape;
        int l = f.Int("left"), r = f.Int("right"), t = f.Int("top"), b = f.Int("bottom");
        ReferenceAssert.MatchesFixture(RefPad.Forward(f["x"].Data, s[0], s[1], s[2], s[3], l, r, t, b, Replicate(f)), f, "y");
        ReferenceAssert.MatchesFixture(RefPad.Backward(f["grad_y"].Data, s[0], s[1], s[2], s[3], l, r, t, b, Replicate(f)), f, "grad_x");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PadBackwardMatchesFiniteDifferences(bool replicate)
    {
        var x = RandomData.Uniform(2 * 3 * 2, 4);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefPad.Forward(v, 1, 2, 3, 2, 2, 1, 1, 3, replicate), x,
            g => RefPad.Backward(g, 1, 2, 3, 2, 2, 1, 1, 3, replicate));
    }
}
