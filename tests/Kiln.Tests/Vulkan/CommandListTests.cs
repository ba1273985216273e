using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>Kiln's own command lists: replay, the end of recording, misuse, and what a dispatch checks.</summary>
public sealed class CommandListTests : GpuTest
{
    static readonly ConvCase C = ConvKernel.Golden;

    [Test]
    public void SubmittingAgain_ReplaysTheRecording_OnTheCurrentContents()
    {
        using var x = Tensor.From(Context, C.XShape, ConvKernel.GoldenX, "x");
        using var w = Tensor.From(Context, C.WShape, ConvKernel.GoldenW, "w");
        using var y = new Tensor(Context, C.YShape, name: "y");
        using var list = Context.CreateCommandList("replayed");
        ConvKernel.Record(list.Recorder, C, x, w, w, y);
        list.Run();
        Assert.That(y.ToArray(), Is.EqualTo(ConvKernel.GoldenY));
        x.Upload(ConvKernel.GoldenX.Select(v => -v).ToArray());
        list.Run();
        Assert.That(y.ToArray(), Is.EqualTo(ConvKernel.GoldenY.Select(v => -v).ToArray()));
        var s1 = list.Submit();
        var s2 = list.Submit(); // waits for the previous replay first
        s2.Wait();
        Assert.That(s1.IsCompleted && s2.IsCompleted, Is.True);
    }

    [Test]
    public void RecordingAfterSubmit_Throws_AndUseAfterDispose_Throws()
    {
        using var x = Tensor.From(Context, C.XShape, ConvKernel.GoldenX, "x");
        using var w = Tensor.From(Context, C.WShape, ConvKernel.GoldenW, "w");
        using var y = new Tensor(Context, C.YShape, name: "y");
        var list = Context.CreateCommandList("ended");
        ConvKernel.Record(list.Recorder, C, x, w, w, y);
        list.Run();
        Assert.Throws<InvalidOperationException>(() => _ = list.Recorder);
        list.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = list.Recorder);
        Assert.Throws<ObjectDisposedException>(() => list.Submit());
        Assert.DoesNotThrow(list.Dispose);
    }

    [Test]
    public void ATensorDisposedAfterRecording_MakesRunThrow_AndLeaksNothing()
    {
        long start = Context.AllocatedBytes;
        using (var x = Tensor.From(Context, C.XShape, ConvKernel.GoldenX, "x"))
        using (var w = Tensor.From(Context, C.WShape, ConvKernel.GoldenW, "w"))
        using (var list = Context.CreateCommandList())
        {
            var y = new Tensor(Context, C.YShape, name: "gone before the run");
            ConvKernel.Record(list.Recorder, C, x, w, w, y);
            y.Dispose();
            var e = Assert.Throws<ObjectDisposedException>(list.Run);
            Assert.That(e!.Message, Does.Contain("gone before the run"));
        }
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
    }

    [Test]
    public void ADispatch_ChecksBindingsPushConstantsAndGroupCounts()
    {
        using var x = Tensor.From(Context, C.XShape, ConvKernel.GoldenX, "x");
        using var w = Tensor.From(Context, C.WShape, ConvKernel.GoldenW, "w");
        using var y = new Tensor(Context, C.YShape, name: "y");
        using var list = Context.CreateCommandList();
        var spec = ConvKernel.Spec(C, true, 64);
        var four = new[] { Binding.Of(x.Storage), Binding.Of(w.Storage), Binding.Of(w.Storage), Binding.Of(y.Storage) };
        var push = ConvKernel.Push(C);
        Assert.That(Assert.Throws<ArgumentException>(() => list.Recorder.Dispatch(spec, four[..3], push, 1))!.Message, Does.Contain("4 bindings, 3 given"));
        Assert.That(Assert.Throws<ArgumentException>(() => list.Recorder.Dispatch(spec, four, push[..24], 1))!.Message, Does.Contain("28 bytes"));
        Assert.Throws<KilnException>(() => list.Recorder.Dispatch(spec, four, push, 0));
        Assert.Throws<KilnException>(() => list.Recorder.Dispatch(spec, four, push, 1, Context.Info.MaxWorkgroupCount[1] + 1));
        Assert.Throws<KilnException>(() => list.Recorder.Dispatch(spec with { Module = "no/such.kernel" }, four, push, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Binding.Range(x.Storage, 64, x.Storage.Size));
        Assert.That(list.DispatchCount, Is.Zero, "nothing was recorded by the failed dispatches");
    }

    [Test]
    public void EqualKernelSpecs_ShareOnePipeline()
    {
        var a = ConvKernel.Spec(C, true, 64);
        var b = ConvKernel.Spec(C, true, 64);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a, Is.Not.EqualTo(ConvKernel.Spec(C, false, 64)));
        Assert.That(a, Is.Not.EqualTo(ConvKernel.Spec(C, true, 32)));
        Assert.That(Context.Pipelines.Get(a), Is.SameAs(Context.Pipelines.Get(b)));
    }
}
