using NUnit.Framework;

namespace Kiln.Tests.Tensors;

/// <summary>Shapes: value equality, validation of dimensions, and the element limit. No GPU.</summary>
public sealed class ShapeTests
{
    [Test]
    public void ShapesWithTheSameDims_AreEqual_WithEqualHashes()
    {
        var a = new Shape(2, 3, 4, 5);
        var b = new Shape(new[] { 2, 3, 4, 5 });
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a == b, Is.True);
        Assert.That(a != b, Is.False);
        Assert.That(a.Equals((object)b), Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(new HashSet<Shape> { a, b }, Has.Count.EqualTo(1));
    }

    [Test]
    public void ShapesWithOtherDimsOrRank_AreNotEqual()
    {
        var a = new Shape(2, 3);
        Assert.That(a, Is.Not.EqualTo(new Shape(3, 2)));
        Assert.That(a, Is.Not.EqualTo(new Shape(2, 3, 1)));
        Assert.That(a, Is.Not.EqualTo(new Shape(6)));
        Assert.That(new Shape(2, 3).Equals("[2,3]"), Is.False);
        Shape? none = null;
        Assert.That(a == none, Is.False);
        Assert.That(none == a, Is.False);
        Assert.That(none == null, Is.True);
        Assert.That(new Shape(2, 3).Equals((Shape?)null), Is.False);
        Assert.That(new Shape(2, 3).Equals((object?)null), Is.False);
    }

    [Test]
    public void AShape_CountsItsElements_AndIndexesFromEitherEnd()
    {
        var s = new Shape(2, 3, 4, 5);
        Assert.That(s.Rank, Is.EqualTo(4));
        Assert.That(s.Count, Is.EqualTo(4));
        Assert.That(s.Elements, Is.EqualTo(120));
        Assert.That(s[0], Is.EqualTo(2));
        Assert.That(s[-1], Is.EqualTo(5));
        Assert.That(s[-4], Is.EqualTo(2));
        Assert.That(s.ToArray(), Is.EqualTo(new[] { 2, 3, 4, 5 }));
        Assert.That(s.ToList(), Is.EqualTo(new[] { 2, 3, 4, 5 }), "enumerates its dims");
        Assert.That(s.Nchw, Is.EqualTo((2, 3, 4, 5)));
        Assert.That(s.ToString(), Is.EqualTo("[2,3,4,5]"));
        Assert.Throws<IndexOutOfRangeException>(() => _ = s[4]);
    }

    [Test]
    public void AShape_IsImmutable()
    {
        var dims = new[] { 2, 3 };
        var s = new Shape(dims);
        dims[0] = 99;
        Assert.That(s[0], Is.EqualTo(2), "the constructor copies the array");
        var copy = s.ToArray();
        copy[1] = 99;
        Assert.That(s[1], Is.EqualTo(3), "ToArray returns a copy");
        var with = s.With(-1, 7);
        Assert.That(with, Is.EqualTo(new Shape(2, 7)));
        Assert.That(s, Is.EqualTo(new Shape(2, 3)), "With makes a new shape");
    }

    [Test]
    public void TheEmptyShape_IsAScalarOfOneElement()
    {
        var s = new Shape();
        Assert.That(s.Rank, Is.Zero);
        Assert.That(s.Elements, Is.EqualTo(1));
        Assert.That(s.ToString(), Is.EqualTo("[]"));
        Assert.That(s, Is.EqualTo(new Shape(Array.Empty<int>())));
    }

    [TestCase(new[] { 0 })]
    [TestCase(new[] { -1 })]
    [TestCase(new[] { 2, 0, 3 })]
    [TestCase(new[] { 4, 4, -2 })]
    [TestCase(new[] { int.MinValue })]
    public void ZeroOrNegativeDims_Throw(int[] dims)
    {
        var e = Assert.Throws<ArgumentException>(() => new Shape(dims));
        Assert.That(e!.Message, Does.Contain("[" + string.Join(",", dims) + "]").And.Contain("positive"));
    }

    [Test]
    public void NullDims_Throw() => Assert.Throws<ArgumentNullException>(() => new Shape(null!));

    [TestCase(new[] { 65536, 32768 })]
    [TestCase(new[] { int.MaxValue, 2 })]
    [TestCase(new[] { 2, int.MaxValue })]
    [TestCase(new[] { 1 << 16, 1 << 16, 1 << 16, 1 << 16 })]
    [TestCase(new[] { int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue })]
    public void MoreElementsThanTheGpuCanIndex_Throw(int[] dims)
    {
        var e = Assert.Throws<ArgumentException>(() => new Shape(dims));
        Assert.That(e!.Message, Does.Contain(Shape.MaxElements.ToString()));
    }

    [Test]
    public void ExactlyTheMaximumElementCount_IsAllowed()
    {
        Assert.That(new Shape(int.MaxValue).Elements, Is.EqualTo(Shape.MaxElements));
        Assert.That(new Shape(1, int.MaxValue, 1).Elements, Is.EqualTo(Shape.MaxElements));
        Assert.That(new Shape(65536, 32767).Elements, Is.LessThanOrEqualTo(Shape.MaxElements));
    }

    [Test]
    public void Nchw_OfAShapeThatIsNot4D_Throws()
    {
        var e = Assert.Throws<InvalidOperationException>(() => _ = new Shape(2, 3, 4).Nchw);
        Assert.That(e!.Message, Does.Contain("[2,3,4]"));
    }

    [Test]
    public void With_ABadSize_Throws() => Assert.Throws<ArgumentException>(() => new Shape(2, 3).With(0, 0));

    [Test]
    public void ElementTypes_HaveTheirSizesAndNames()
    {
        Assert.That(ElementType.F32.SizeInBytes(), Is.EqualTo(4));
        Assert.That(ElementType.F16.SizeInBytes(), Is.EqualTo(2));
        Assert.That(ElementType.F32.Name(), Is.EqualTo("f32"));
        Assert.That(ElementType.F16.Name(), Is.EqualTo("f16"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((ElementType)99).SizeInBytes());
    }
}
