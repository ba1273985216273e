using System.Diagnostics;
using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>Uploads and downloads through the staging buffer: odd sizes, growth, chunking, f16, and misuse.</summary>
public sealed class TransferTests : GpuTest
{
    static float[] Pattern(int n, int seed) => Enumerable.Range(0, n).Select(i => (float)((i * 2654435761L + seed) % 1000003) - 500000.25f).ToArray();

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(255)]
    [TestCase(257)]
    [TestCase(65537)]
    [TestCase(1_300_001, TestName = "UploadThenDownload_OfMoreThan4MiB_GrowsTheStagingBuffer")]
    public void UploadThenDownload_ReturnsTheSameFloats(int count)
    {
        var data = Pattern(count, count);
        using var t = Tensor.From(Context, new Shape(count), data, "round trip");
        var back = new float[count];
        t.Download(back);
        Assert.That(back.AsSpan().SequenceEqual(data), Is.True, "download into a span");
        Assert.That(t.ToArray().AsSpan().SequenceEqual(data), Is.True, "ToArray");
    }

    [Test]
    public void UploadThenDownload_OfMoreThan64MiB_GoesThroughTheStagingBufferInChunks()
    {
        const int count = (68 << 20) / 4 + 3; // 68 MiB + 12 bytes: two chunks of the 64 MiB staging buffer
        Assume.That((ulong)count * 4, Is.LessThanOrEqualTo(Context.Info.MaxStorageBufferRange), "the device's largest storage buffer is smaller than this upload");
        var watch = Stopwatch.StartNew();
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = i;
        using var t = Tensor.From(Context, new Shape(count), data, "big");
        var back = new float[count];
        t.Download(back);
        Assert.That(back.AsSpan().SequenceEqual(data), Is.True, "68 MiB round trip");
        Assert.That(back[^1], Is.EqualTo(count - 1));
        TestContext.Out.WriteLine($"68 MiB round trip: {watch.ElapsedMilliseconds} ms");
    }

    [Test]
    public void UploadToOneTensor_LeavesItsNeighboursUntouched()
    {
        using var a = Tensor.From(Context, new Shape(5), new float[] { 1, 2, 3, 4, 5 }, "a");
        using var b = Tensor.From(Context, new Shape(3), new float[] { 6, 7, 8 }, "b");
        using var c = Tensor.From(Context, new Shape(7), Pattern(7, 1), "c");
        b.Upload(new float[] { -1, -2, -3 });
        Assert.That(a.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5 }));
        Assert.That(b.ToArray(), Is.EqualTo(new float[] { -1, -2, -3 }));
        Assert.That(c.ToArray(), Is.EqualTo(Pattern(7, 1)));
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(1001)]
    public void F16UploadThenDownload_ReturnsTheSameHalves(int count)
    {
        var data = Enumerable.Range(0, count).Select(i => (Half)((i % 200) * 0.5f - 37.25f)).ToArray();
        data[0] = Half.MaxValue;
        if (count > 2) data[2] = Half.Epsilon;
        using var t = new Tensor(Context, new Shape(count), ElementType.F16, name: "halves");
        Assert.That(t.SizeInBytes, Is.EqualTo(count * 2));
        t.Upload(data);
        var back = new Half[count];
        t.Download(back);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public void UploadAsync_IsVisibleToTheNextDownload_AndItsStagingIsFreedWhenDone()
    {
        using var t = new Tensor(Context, new Shape(1000), name: "async");
        var data = Pattern(1000, 3);
        var s = t.UploadAsync(data);
        Assert.That(t.ToArray(), Is.EqualTo(data));
        s.Wait();
        Assert.That(s.IsCompleted, Is.True);
    }

    [Test]
    public void UploadAsync_ThenDispose_FreesTheTensorOnlyAfterTheCopy()
    {
        long start = Context.AllocatedBytes;
        var t = new Tensor(Context, new Shape(4096), name: "disposed while uploading");
        var s = t.UploadAsync(Pattern(4096, 9));
        t.Dispose();
        Assert.That(t.IsDisposed, Is.True);
        s.Wait();
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
    }

    [Test]
    public void WrongLengthUpload_ThrowsNamingTheTensor()
    {
        using var t = new Tensor(Context, new Shape(2, 3), name: "six values");
        var e = Assert.Throws<ArgumentException>(() => t.Upload(new float[7]));
        Assert.That(e!.Message, Does.Contain("six values").And.Contain("7").And.Contain("6"));
        Assert.Throws<ArgumentException>(() => t.Upload(new float[5]));
        Assert.Throws<ArgumentException>(() => t.UploadAsync(new float[5]));
    }

    [Test]
    public void WrongLengthDownload_ThrowsNamingTheTensor()
    {
        using var t = Tensor.From(Context, new Shape(2, 3), new float[6], "six values");
        var e = Assert.Throws<ArgumentException>(() => t.Download(new float[5]));
        Assert.That(e!.Message, Does.Contain("six values").And.Contain("5").And.Contain("6"));
        Assert.Throws<ArgumentException>(() => t.Download(new float[7]));
    }

    [Test]
    public void TensorFrom_WithTheWrongLength_ThrowsAndLeavesNothingAllocated()
    {
        long start = Context.AllocatedBytes;
        var e = Assert.Throws<ArgumentException>(() => Tensor.From(Context, new Shape(4), new float[3], "short"));
        Assert.That(e!.Message, Does.Contain("short"));
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
    }

    /// <summary>ToArray reads an f16 tensor widened to f32, exactly (CompileOptions.F16InputsAndOutputs' outputs).</summary>
    [Test]
    public void ToArray_WidensAnF16Tensor()
    {
        using var halves = new Tensor(Context, new Shape(4), ElementType.F16, name: "halves");
        var values = new[] { (Half)0.1f, (Half)(-2.5f), Half.MaxValue, Half.Epsilon };
        halves.Upload(values);
        Assert.That(halves.ToArray(), Is.EqualTo(values.Select(h => (float)h)).AsCollection);
    }

    [Test]
    public void ElementTypeMismatch_Throws()
    {
        using var halves = new Tensor(Context, new Shape(4), ElementType.F16, name: "halves");
        using var floats = new Tensor(Context, new Shape(4), name: "floats");
        var e = Assert.Throws<ArgumentException>(() => halves.Upload(new float[4]));
        Assert.That(e!.Message, Does.Contain("halves").And.Contain("f32").And.Contain("f16"));
        Assert.Throws<ArgumentException>(() => halves.Download(new float[4]));
        Assert.Throws<ArgumentException>(() => halves.UploadAsync(new float[4]));
        Assert.Throws<ArgumentException>(() => floats.Upload(new Half[4]));
        Assert.Throws<ArgumentException>(() => floats.Download(new Half[4]));
    }

    [Test]
    public void UseAfterDispose_ThrowsObjectDisposed()
    {
        var t = Tensor.From(Context, new Shape(3), new float[] { 1, 2, 3 }, "gone");
        t.Dispose();
        Assert.That(t.IsDisposed, Is.True);
        var e = Assert.Throws<ObjectDisposedException>(() => t.Upload(new float[3]));
        Assert.That(e!.Message, Does.Contain("gone"));
        Assert.Throws<ObjectDisposedException>(() => t.Download(new float[3]));
        Assert.Throws<ObjectDisposedException>(() => t.ToArray());
        Assert.Throws<ObjectDisposedException>(() => t.UploadAsync(new float[3]));
        Assert.DoesNotThrow(t.Dispose, "disposing twice is harmless");
    }

    [Test]
    public void DisposedTensor_CannotBeBoundToADispatch()
    {
        var c = ConvKernel.Golden;
        using var x = Tensor.From(Context, c.XShape, ConvKernel.GoldenX, "x");
        using var w = Tensor.From(Context, c.WShape, ConvKernel.GoldenW, "w");
        var y = new Tensor(Context, c.YShape, name: "disposed y");
        y.Dispose();
        using var list = Context.CreateCommandList();
        Assert.Throws<ObjectDisposedException>(() => ConvKernel.Record(list.Recorder, c, x, w, w, y));
    }
}
