using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>Add, Sub, Mul and Div with NumPy broadcasting on the GPU against <see cref="RefBroadcast"/> (PyTorch fixtures run in AddTests and ElementwiseLayerTests).</summary>
public sealed class BroadcastTests : GpuTest
{
    static Layer Make(string op) => op switch
    {
        "add" => new Add(),
        "sub" => new Sub(),
        "mul" => new Mul(),
        "div" => new Div(),
        _ => throw new ArgumentException(op),
    };

    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    [TestCase("add", new[] { 4, 8, 6, 6 }, new[] { 1, 8, 1, 1 })]  // per-channel bias: 144 outputs per element, workgroup sums
    [TestCase("mul", new[] { 4, 8, 6, 6 }, new[] { 8, 1, 1 })]
    [TestCase("sub", new[] { 3, 1, 5 }, new[] { 4, 1 })]             // both broadcast
    [TestCase("div", new[] { 7 }, new[] { 2, 3, 7 })]                // the lower-rank input first
    [TestCase("div", new[] { 2, 3, 7 }, new[] { 2, 1, 7 })]
    [TestCase("mul", new[] { 2, 1, 3, 1, 2, 2 }, new[] { 2, 1, 4, 1, 1 })]  // rank 6
    [TestCase("add", new[] { 1 }, new[] { 3, 70 })]                 // a scalar-like input: 210 outputs into one element
    // Reductions of more than two chunks of 4096, split over workgroups and summed in order: 3 chunks (the last of 1808)
    // a channel, and 5 into one element.
    [TestCase("mul", new[] { 1, 2, 100, 100 }, new[] { 1, 2, 1, 1 })]
    [TestCase("div", new[] { 1 }, new[] { 2, 9000 })]
    public void ForwardAndBackwardMatchReference(string op, int[] aShape, int[] bShape)
    {
        int seed = aShape.Sum() * 31 + bShape.Sum() + op.Length;
        var a = FixtureLayer.Uniform(RefBroadcast.Count(aShape), seed);
        var b = RandomData.AwayFromZero(RefBroadcast.Count(bShape), seed + 1, 0.25).Select(v => (float)v).ToArray();
        var yShape = RefBroadcast.Shape(aShape, bShape);
        var gy = FixtureLayer.Uniform(RefBroadcast.Count(yShape), seed + 2);
        var res = LayerHarness.Run(Context, Make(op), new[] { new Shape(aShape), new Shape(bShape) }, new[] { a, b }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(yShape)));
        var (forward, grad) = RefBroadcast.Op(op);
        Assert.That(RelativeError.MaxRelative(res.Output, RefBroadcast.Forward(forward, D(a), aShape, D(b), bShape)), Is.LessThan(Tolerances.Forward), "y");
        var (ga, gb) = RefBroadcast.Backward(grad, D(a), aShape, D(b), bShape, D(gy));
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], ga), Is.LessThan(Tolerances.Gradient), "grad_a");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], gb), Is.LessThan(Tolerances.Gradient), "grad_b");
    }

    /// <summary>The gradient of a broadcast input is a fixed-order gather: two runs agree bit for bit.</summary>
    [Test]
    public void BroadcastGradientIsDeterministic()
    {
        var shapes = new[] { new Shape(8, 16, 9, 9), new Shape(1, 16, 1, 1) };
        var x = FixtureLayer.Uniform(shapes[0].Elements, 1);
        var bias = FixtureLayer.Uniform(16, 2);
        var gy = FixtureLayer.Uniform(shapes[0].Elements, 3);
        var first = LayerHarness.Run(Context, new Add(), shapes, new[] { x, bias }, null, gy);
        var second = LayerHarness.Run(Context, new Add(), shapes, new[] { x, bias }, null, gy);
        Assert.That(second.InputGradients[1], Is.EqualTo(first.InputGradients[1]));
    }

    [Test]
    public void ShapesThatDoNotBroadcast_NameBothShapes()
    {
        var e = Assert.Throws<GraphException>(() => new Mul().OutputShape(new[] { new Shape(2, 3), new Shape(4) }));
        Assert.That(e!.Message, Does.Contain("[2,3]").And.Contain("[4]"));
    }

    [Test]
    public void RankAboveSix_Throws()
    {
        var e = Assert.Throws<GraphException>(() => new Add().OutputShape(new[] { new Shape(1, 1, 1, 1, 1, 1, 2), new Shape(2) }));
        Assert.That(e!.Message, Does.Contain("ranks up to 6"));
    }

    /// <summary>A long reduction into few elements is split over workgroups (binary.bcast.bwd.split) and summed in order.</summary>
    [Test]
    public void LongReductions_AreSplitOverWorkgroups()
    {
        var a = new Shape(1, 2, 100, 100);
        var res = LayerHarness.Run(Context, new Mul(), new[] { a, new Shape(1, 2, 1, 1) }, new[] { new float[a.Elements], new float[2] }, null,
            new float[a.Elements]);
        Assert.That(res.Kernels, Has.Some.EqualTo("binary/binary.bcast.bwd.split").And.Some.EqualTo("reduce/partials"));
        Assert.That(res.GroupsOf("layer.bwd1"), Is.EqualTo("3x2x1"), "3 chunks of each of the 2 elements of b");
    }
}
