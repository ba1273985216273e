using NUnit.Framework;

namespace Kiln.Tests.Tensors;

/// <summary>Tensor construction: layout defaults, sizes, names, and disposal.</summary>
public sealed class TensorTests : GpuTest
{
    [Test]
    public void A4DTensor_DefaultsToNchw_AndOtherRanksToRowMajor()
    {
        using var image = new Tensor(Context, new Shape(1, 3, 4, 5));
        using var matrix = new Tensor(Context, new Shape(3, 4));
        using var vector = new Tensor(Context, new Shape(7));
        using var rank3 = new Tensor(Context, new Shape(2, 3, 4));
        using var rank5 = new Tensor(Context, new Shape(1, 2, 3, 4, 5));
        Assert.That(image.Layout, Is.EqualTo(TensorLayout.Nchw));
        Assert.That(matrix.Layout, Is.EqualTo(TensorLayout.RowMajor));
        Assert.That(vector.Layout, Is.EqualTo(TensorLayout.RowMajor));
        Assert.That(rank3.Layout, Is.EqualTo(TensorLayout.RowMajor));
        Assert.That(rank5.Layout, Is.EqualTo(TensorLayout.RowMajor));
    }

    [Test]
    public void A4DTensor_MayBeNhwcOrRowMajor()
    {
        using var nhwc = new Tensor(Context, new Shape(1, 4, 5, 3), layout: TensorLayout.Nhwc);
        using var flat = new Tensor(Context, new Shape(1, 3, 4, 5), layout: TensorLayout.RowMajor);
        Assert.That(nhwc.Layout, Is.EqualTo(TensorLayout.Nhwc));
        Assert.That(flat.Layout, Is.EqualTo(TensorLayout.RowMajor));
    }

    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void AnImageLayoutOnAShapeThatIsNot4D_Throws_AndAllocatesNothing(TensorLayout layout)
    {
        long start = Context.AllocatedBytes;
        var e = Assert.Throws<ArgumentException>(() => new Tensor(Context, new Shape(3, 4), layout: layout));
        Assert.That(e!.Message, Does.Contain(layout.ToString()).And.Contain("[3,4]"));
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
    }

    [Test]
    public void ATensor_KnowsItsSizeTypeAndName()
    {
        using var t = new Tensor(Context, new Shape(2, 3, 5), ElementType.F16, name: "activations");
        Assert.That(t.Context, Is.SameAs(Context));
        Assert.That(t.Shape, Is.EqualTo(new Shape(2, 3, 5)));
        Assert.That(t.ElementType, Is.EqualTo(ElementType.F16));
        Assert.That(t.Elements, Is.EqualTo(30));
        Assert.That(t.SizeInBytes, Is.EqualTo(60));
        Assert.That(t.Name, Is.EqualTo("activations"));
        Assert.That(t.ToString(), Is.EqualTo("tensor 'activations' [2,3,5] f16"));
        Assert.That(t.IsDisposed, Is.False);
    }

    [Test]
    public void ATensorWithoutAName_IsCalledTensor_AndIsF32()
    {
        using var t = new Tensor(Context, new Shape(4));
        Assert.That(t.Name, Is.EqualTo("tensor"));
        Assert.That(t.ElementType, Is.EqualTo(ElementType.F32));
        Assert.That(t.SizeInBytes, Is.EqualTo(16));
    }

    [Test]
    public void TensorFrom_HoldsTheData()
    {
        using var t = Tensor.From(Context, new Shape(2, 2), new float[] { 1, -2, 3.5f, float.MaxValue }, "from");
        Assert.That(t.ToArray(), Is.EqualTo(new float[] { 1, -2, 3.5f, float.MaxValue }));
        Assert.That(t.Name, Is.EqualTo("from"));
    }

    [Test]
    public void DisposingATensor_FreesItsMemory_AndMarksItDisposed()
    {
        long start = Context.AllocatedBytes;
        var t = new Tensor(Context, new Shape(1000));
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start + 4000));
        Assert.That(Context.LiveObjects(), Has.Some.Contains("tensor 'tensor' [1000] f32"));
        t.Dispose();
        Assert.That(t.IsDisposed, Is.True);
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
        t.Dispose();
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start), "disposing twice frees once");
    }

    [Test]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new Tensor(null!, new Shape(1)));
        Assert.Throws<ArgumentNullException>(() => new Tensor(Context, null!));
    }
}
