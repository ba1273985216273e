using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary><see cref="MatMul"/> on the GPU against <see cref="RefMatMul"/> and the PyTorch fixtures.</summary>
public sealed class MatMulTests : GpuTest
{
    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    [TestCase(new[] { 5, 7 }, new[] { 7, 3 })]
    [TestCase(new[] { 1, 9 }, new[] { 9, 10 })]
    [TestCase(new[] { 3, 5, 6 }, new[] { 3, 6, 7 })]           // batched
    [TestCase(new[] { 2, 1, 5, 4 }, new[] { 3, 4, 6 })]        // both broadcast along the batch
    [TestCase(new[] { 5, 4 }, new[] { 2, 3, 4, 6 })]           // one A for every B
    [TestCase(new[] { 2, 3, 5, 4 }, new[] { 4, 9 })]           // one B for every A (the flattened path)
    [TestCase(new[] { 1, 2, 1, 2, 3, 4 }, new[] { 3, 1, 4, 5 })] // four batch dimensions
    public void ForwardAndBackwardMatchReference(int[] aShape, int[] bShape)
    {
        int seed = aShape.Sum() * 7 + bShape.Sum();
        var a = FixtureLayer.Uniform(RefBroadcast.Count(aShape), seed);
        var b = FixtureLayer.Uniform(RefBroadcast.Count(bShape), seed + 1);
        var yShape = RefMatMul.Shape(aShape, bShape);
        var gy = FixtureLayer.Uniform(RefBroadcast.Count(yShape), seed + 2);
        var res = LayerHarness.Run(Context, new MatMul(), new[] { new Shape(aShape), new Shape(bShape) }, new[] { a, b }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(yShape)));
        Assert.That(RelativeError.MaxRelative(res.Output, RefMatMul.Forward(D(a), aShape, D(b), bShape)), Is.LessThan(Tolerances.Forward), "y");
        var (ga, gb) = RefMatMul.Backward(D(a), aShape, D(b), bShape, D(gy));
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], ga), Is.LessThan(Tolerances.Gradient), "grad_a");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], gb), Is.LessThan(Tolerances.Gradient), "grad_b");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "matmul" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var res = FixtureLayer.Run(Context, new MatMul(), f, "x0", "x1");
        FixtureLayer.AssertAll(res, f, "x0", "x1");
    }

    /// <summary>B as the parameter "weight": the same numbers, its gradient under the parameter's name.</summary>
    [TestCase(new[] { 2, 3, 4 }, new[] { 4, 5 })]
    [TestCase(new[] { 3, 4 }, new[] { 2, 4, 5 })]
    public void WeightParameterMatchesReference(int[] aShape, int[] wShape)
    {
        var a = FixtureLayer.Uniform(RefBroadcast.Count(aShape), 11);
        var w = FixtureLayer.Uniform(RefBroadcast.Count(wShape), 12);
        var yShape = RefMatMul.Shape(aShape, wShape);
        var gy = FixtureLayer.Uniform(RefBroadcast.Count(yShape), 13);
        var res = LayerHarness.Run(Context, new MatMul(new Shape(wShape)), new[] { new Shape(aShape) }, new[] { a },
            new Dictionary<string, float[]> { ["weight"] = w }, gy);
        Assert.That(RelativeError.MaxRelative(res.Output, RefMatMul.Forward(D(a), aShape, D(w), wShape)), Is.LessThan(Tolerances.Forward), "y");
        var (ga, gw) = RefMatMul.Backward(D(a), aShape, D(w), wShape, D(gy));
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], ga), Is.LessThan(Tolerances.Gradient), "grad_a");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
    }

    /// <summary>A vector operand is a one-row (A) or one-column (B) matrix whose added dimension the result drops.</summary>
    [Test]
    public void VectorOperandsFollowNumPy()
    {
        var m = FixtureLayer.Uniform(12, 21);
        var v = FixtureLayer.Uniform(4, 22);
        var gy = FixtureLayer.Uniform(3, 23);
        var left = LayerHarness.Run(Context, new MatMul(), new[] { new Shape(3, 4), new Shape(4) }, new[] { m, v }, null, gy);
        Assert.That(left.OutputShape, Is.EqualTo(new Shape(3)));
        Assert.That(RelativeError.MaxRelative(left.Output, RefMatMul.Forward(D(m), new[] { 3, 4 }, D(v), new[] { 4, 1 })), Is.LessThan(Tolerances.Forward));
        var (gm, gv) = RefMatMul.Backward(D(m), new[] { 3, 4 }, D(v), new[] { 4, 1 }, D(gy));
        Assert.That(RelativeError.MaxRelative(left.InputGradients[0], gm), Is.LessThan(Tolerances.Gradient));
        Assert.That(RelativeError.MaxRelative(left.InputGradients[1], gv), Is.LessThan(Tolerances.Gradient));

        var right = LayerHarness.Run(Context, new MatMul(), new[] { new Shape(4), new Shape(2, 4, 3) }, new[] { v, FixtureLayer.Uniform(24, 24) },
            null, FixtureLayer.Uniform(6, 25));
        Assert.That(right.OutputShape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(RelativeError.MaxRelative(right.Output, RefMatMul.Forward(D(v), new[] { 1, 4 }, D(FixtureLayer.Uniform(24, 24)), new[] { 2, 4, 3 })),
            Is.LessThan(Tolerances.Forward));
        var (gv2, _) = RefMatMul.Backward(D(v), new[] { 1, 4 }, D(FixtureLayer.Uniform(24, 24)), new[] { 2, 4, 3 }, D(FixtureLayer.Uniform(6, 25)));
        Assert.That(RelativeError.MaxRelative(right.InputGradients[0], gv2), Is.LessThan(Tolerances.Gradient));
    }

    [Test]
    public void InnerDimensionMismatch_NamesBothShapes()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new MatMul(), new[] { new Shape(2, 3), new Shape(4, 5) },
            new[] { new float[6], new float[20] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,3]").And.Contain("[4,5]"));
    }

    [Test]
    public void BatchesThatDoNotBroadcast_Throw()
    {
        var e = Assert.Throws<GraphException>(() => new MatMul().OutputShape(new[] { new Shape(2, 3, 4), new Shape(3, 4, 5) }));
        Assert.That(e!.Message, Does.Contain("batch"));
    }
}
