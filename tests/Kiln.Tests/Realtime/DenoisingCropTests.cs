using Kiln.Realtime;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>The denoising demo's online training on random crops of each frame (and on the whole frame with crop 0).</summary>
public sealed class DenoisingCropTests : GpuTest
{
    /// <summary>Relative agreement of the GPU's log transfer with the double one (a few float ulps).</summary>
    const double LogAgreement = 1e-6;

    static double Mean(IEnumerable<FrameRecord> r) => r.Average(x => x.Metrics["loss"]);

    [Test]
    public void Training_TakesCropsOfTheFramesInputAndReference_FedBackChannelsIncluded()
    {
        const int w = 48, h = 32, side = 16, batch = 3;
        using var demo = new DenoisingDemo(Context, w, h, referenceSamples: 8, feedback: true, trainingCrop: side, trainingBatch: batch) { TrainingStepsPerFrame = 2 };
        Assert.That((demo.TrainingCrop, demo.TrainingBatch), Is.EqualTo((side, batch)));
        Assert.That(demo.Network.Infer.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 12, h, w)), "inference stays on the whole frame");
        Assert.That(demo.Network.Train.Inputs["x"].Shape, Is.EqualTo(new Shape(batch, 12, side, side)));
        Assert.That(demo.Network.Train.Inputs["target"].Shape, Is.EqualTo(new Shape(batch, 3, side, side)));
        using var loop = new FrameLoop(demo);
        loop.Run(2, _ => { });

        // After frame 1 the training inputs hold the crops of its last step (1); the frame's inputs are still in place.
        uint key = RandomCrops.Key(1, 1);
        var x = demo.Network.Infer.Inputs["x"].ToArray();
        var expected = RandomCropTests.CpuCrops(x, 12, w, h, side, batch, demo.CropSeed, key, v => v).Select(v => (float)v);
        Assert.That(demo.Network.Train.Inputs["x"].ToArray(), Is.EqualTo(expected), "x: crops of the frame's input, all 12 channels at the same place");
        var target = RandomCropTests.CpuCrops(demo.Reference.ToArray(), 3, w, h, side, batch, demo.CropSeed, key, v => Math.Log(1 + Math.Max(v, 0.0)));
        Assert.That(RelativeError.MaxRelative(demo.Network.Train.Inputs["target"].ToArray(), target), Is.LessThan(LogAgreement), "target: crops of the log-transferred reference");
        var corners = Enumerable.Range(0, batch).Select(b => RandomCrops.Position(demo.CropSeed, key, b, w, h, side)).ToList();
        Assert.That(corners.Distinct().Count(), Is.GreaterThan(1), "the crops are not all at one place, so the checks above are not vacuous");
    }

    [Test]
    public void Training_OnCrops_LowersTheLoss()
    {
        using var demo = new DenoisingDemo(Context, 32, 32, referenceSamples: 32, learningRate: 2e-3f, trainingCrop: 16, trainingBatch: 2) { TrainingStepsPerFrame = 2 };
        using var loop = new FrameLoop(demo);
        loop.Run(16);
        double first = Mean(loop.Records.Take(4)), last = Mean(loop.Records.TakeLast(4));
        TestContext.Progress.WriteLine($"denoising on 2 crops of 16: loss first frames {first:0.0000}, last frames {last:0.0000}");
        Assert.That(last, Is.LessThan(0.8 * first), "online training on crops lowers the loss");
        foreach (var (name, t) in demo.Network.Infer.Parameters)
            Assert.That(t.ToArray(), Is.EqualTo(demo.Network.Train.Parameters[name].ToArray()), $"inference parameter {name} is the trained one");
    }

    [Test]
    public void CropZero_TrainsOnTheWholeFrame()
    {
        const int w = 32, h = 16;
        Assert.That(DenoisingDemo.TrainingCropFor(w, h, null, null), Is.EqualTo((16, 2)), "by default this frame would be cropped");
        using var demo = new DenoisingDemo(Context, w, h, referenceSamples: 8, trainingCrop: 0);
        Assert.That((demo.TrainingCrop, demo.TrainingBatch), Is.EqualTo((0, 1)));
        Assert.That(demo.Network.Train.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 9, h, w)));
        using var loop = new FrameLoop(demo);
        loop.Run(2, _ => { });
        Assert.That(loop.Records.All(r => double.IsFinite(r.Metrics["loss"])), Is.True);
        Assert.That(demo.Network.Train.Inputs["x"].ToArray(), Is.EqualTo(demo.Network.Infer.Inputs["x"].ToArray()), "training sees the whole frame's input");
    }

    [Test]
    public void BadCrops_AreClearArgumentExceptions()
    {
        var tooBig = Assert.Throws<ArgumentException>(() => new DenoisingDemo(Context, 64, 32, trainingCrop: 48))!;
        Assert.That(tooBig.Message, Does.Contain("48").And.Contain("64x32"));
        var notMultiple = Assert.Throws<ArgumentException>(() => new DenoisingDemo(Context, 64, 32, trainingCrop: 24))!;
        Assert.That(notMultiple.Message, Does.Contain("multiple of 16").And.Contain("24"));
        Assert.Throws<ArgumentException>(() => new DenoisingDemo(Context, 64, 32, trainingCrop: 0, trainingBatch: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DenoisingDemo(Context, 64, 32, trainingCrop: 16, trainingBatch: 0));
    }
}
