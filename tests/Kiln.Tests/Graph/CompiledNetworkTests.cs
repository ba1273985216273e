using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>Recording, replay, step state and input buffer sets of a compiled network, on the GPU.</summary>
public sealed class CompiledNetworkTests : GpuTest
{
    [Test]
    public void Replay_RunsTheSameRecordingOnNewInputs()
    {
        using var net = new Sequential(new Tanh()).Compile(Context, CompileOptions.For("x", new Shape(2, 3)));
        for (int k = 0; k < 3; k++)
        {
            var x = Enumerable.Range(0, 6).Select(i => (float)(i - 3 + k)).ToArray();
            net.SetInput("x", x);
            net.Run();
            Assert.That(net.GetOutput("y"), Is.EqualTo(x.Select(v => (float)Math.Tanh(v))).Within(1e-6));
        }
    }

    [Test]
    public void TwoInputSets_AlternateWhileTheOtherUploads()
    {
        using var net = new Sequential(new ReLU()).Compile(Context, CompileOptions.For("x", new Shape(4)) with { InputBuffers = 2 });
        var a = new float[] { -1, 2, -3, 4 };
        var b = new float[] { 5, -6, 7, -8 };
        net.InputsOf(0)["x"].Upload(a);
        var run0 = net.RunAsync(0);
        var upload1 = net.InputsOf(1)["x"].UploadAsync(b);
        run0.Wait();
        Assert.That(net.GetOutput("y"), Is.EqualTo(new float[] { 0, 2, 0, 4 }));
        net.RunAsync(1).Wait();
        Assert.That(upload1.IsCompleted);
        Assert.That(net.GetOutput("y"), Is.EqualTo(new float[] { 5, 0, 7, 0 }));
    }

    [Test]
    public void UnknownInputName_ListsTheInputs()
    {
        using var net = new Sequential(new ReLU()).Compile(Context, CompileOptions.For("x", new Shape(4)));
        var e = Assert.Throws<ArgumentException>(() => net.SetInput("image", new float[4]));
        Assert.That(e!.Message, Does.Contain("image").And.Contain("x"));
    }

    [Test]
    public void WrongInputLength_IsRejectedBeforeTheGpu()
    {
        using var net = new Sequential(new ReLU()).Compile(Context, CompileOptions.For("x", new Shape(4)));
        Assert.Throws<ArgumentException>(() => net.SetInput("x", new float[5]));
    }
}
