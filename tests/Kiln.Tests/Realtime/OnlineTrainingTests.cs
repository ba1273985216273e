using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>Online training inside the frame loop, on the frames the loop renders.</summary>
public sealed class OnlineTrainingTests : GpuTest
{
    static double Mean(IEnumerable<FrameRecord> r) => r.Average(x => x.Metrics["loss"]);

    static void AssertSharedParameters(OnlineNetwork net)
    {
        foreach (var (name, t) in net.Infer.Parameters)
            Assert.That(t.ToArray(), Is.EqualTo(net.Train.Parameters[name].ToArray()), $"inference parameter {name} is the trained one");
    }

    [Test]
    public void Inpainting_LossFallsOverAFewDozenFrames_AndInferenceUsesTheTrainedParameters()
    {
        using var demo = new InpaintingDemo(Context, 32, 32, channels: new[] { 8, 16 }, learningRate: 3e-3f) { TrainingStepsPerFrame = 3 };
        using var loop = new FrameLoop(demo);
        var before = demo.Network.Infer.Parameters.First().Value.ToArray();
        loop.Run(36);
        var r = loop.Records;
        Assert.That(r.All(x => x.Metrics.ContainsKey("loss") && double.IsFinite(x.Metrics["loss"])), Is.True);
        double first = Mean(r.Take(5)), last = Mean(r.TakeLast(5));
        TestContext.Progress.WriteLine($"inpainting loss: first frames {first:0.0000}, last frames {last:0.0000}");
        Assert.That(last, Is.LessThan(0.8 * first), "online training lowers the loss");
        Assert.That(demo.Network.Infer.Parameters.First().Value.ToArray(), Is.Not.EqualTo(before));
        AssertSharedParameters(demo.Network);
    }

    [Test]
    public void Denoising_LossAgainstTheReferenceFalls()
    {
        using var demo = new DenoisingDemo(Context, 16, 16, referenceSamples: 32, learningRate: 2e-3f) { TrainingStepsPerFrame = 2 };
        using var loop = new FrameLoop(demo);
        loop.Run(16);
        double first = Mean(loop.Records.Take(4)), last = Mean(loop.Records.TakeLast(4));
        TestContext.Progress.WriteLine($"denoising loss: first frames {first:0.0000}, last frames {last:0.0000}");
        Assert.That(last, Is.LessThan(0.8 * first), "online training against the reference lowers the loss");
        AssertSharedParameters(demo.Network);
    }

    [Test]
    public void Playground_LossFalls()
    {
        using var demo = new PlaygroundDemo(Context, 32, 32, pointCount: 100);
        using var loop = new FrameLoop(demo);
        loop.Run(30);
        double first = loop.Records[0].Metrics["loss"], last = loop.Records[^1].Metrics["loss"];
        Assert.That(last, Is.LessThan(0.7 * first));
        AssertSharedParameters(demo.Network);
    }

    [Test]
    public void TrainingOff_LeavesParametersAndReportsNoLoss()
    {
        using var demo = new InpaintingDemo(Context, 16, 16, channels: new[] { 4, 8 }) { Training = false };
        using var loop = new FrameLoop(demo);
        var before = demo.Network.Train.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray());
        loop.Run(3);
        Assert.That(loop.Records.All(x => !x.Metrics.ContainsKey("loss")), Is.True);
        Assert.That(loop.Records.All(x => !x.StageMilliseconds.ContainsKey(FrameStage.Training)), Is.True);
        foreach (var (name, t) in demo.Network.Train.Parameters) Assert.That(t.ToArray(), Is.EqualTo(before[name]));
    }

    [Test]
    public void Demos_RejectSizesTheirNetworksCannotTake()
    {
        Assert.Throws<ArgumentException>(() => new InpaintingDemo(Context, 30, 32));
        Assert.Throws<ArgumentException>(() => new DenoisingDemo(Context, 40, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlaygroundDemo(Context, 4, 4));
    }
}
