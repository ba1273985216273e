using NUnit.Framework;

namespace Kiln.Tests.Tensors;

/// <summary>
/// Tensor.DownloadAsync: the copy is ordered after work already submitted (a recorded step still running when
/// the download starts sees its result), the host is not blocked, and wrong reads are refused with the reason.
/// </summary>
public sealed class TensorDownloadTests : GpuTest
{
    [Test]
    public void DownloadAsync_AfterASubmittedStep_ReadsTheStepsResult()
    {
        var net = new Sequential(new ReLU());
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(4, 1000)));
        var x = Enumerable.Range(0, 4000).Select(i => (float)Math.Sin(i)).ToArray();
        compiled.SetInput("x", x);
        using var list = Context.CreateCommandList("relu");
        compiled.Record(list);
        var step = list.Submit();                                     // not waited for
        using var download = compiled.Outputs.Values.Single().DownloadAsync();
        var y = download.ToArray();
        Assert.That(step.IsCompleted, Is.True, "the download ran after the step it followed on the queue");
        Assert.That(y, Is.EqualTo(x.Select(v => Math.Max(v, 0f)).ToArray()));
    }

    [Test]
    public void DownloadAsync_OfAnUploadedTensor_ReturnsItsValues_AndCompletes()
    {
        var values = Enumerable.Range(0, 4097).Select(i => i * 0.25f - 7).ToArray();
        using var t = Tensor.From(Context, new Shape(4097), values, "t");
        using var download = t.DownloadAsync();
        var copy = new float[values.Length];
        download.CopyTo(copy);
        Assert.That(download.IsCompleted, Is.True);
        Assert.That(copy, Is.EqualTo(values));
    }

    [Test]
    public void DownloadAsync_ReadOfTheWrongSizeOrType_SaysWhich()
    {
        using var t = Tensor.From(Context, new Shape(2, 3), new float[6], "small");
        using var download = t.DownloadAsync();
        var e = Assert.Throws<ArgumentException>(() => download.CopyTo(new float[5]));
        Assert.That(e!.Message, Does.Contain("small").And.Contain("5").And.Contain("holds 6"));
        var f = Assert.Throws<ArgumentException>(() => download.CopyTo(new Half[6]));
        Assert.That(f!.Message, Does.Contain("f16").And.Contain("f32"));
    }

    [Test]
    public void DisposingBeforeTheCopyFinishes_LeavesNothingBehind()
    {
        using var t = Tensor.From(Context, new Shape(1 << 16), new float[1 << 16], "big");
        var download = t.DownloadAsync();
        download.Dispose();
        Context.WaitIdle();
        Assert.Throws<ObjectDisposedException>(() => download.ToArray());
    }
}
