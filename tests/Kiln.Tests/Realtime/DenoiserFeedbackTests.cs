using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>The denoising demo's temporal feedback: the previous denoised frame as 3 more input channels.</summary>
public sealed class DenoiserFeedbackTests : GpuTest
{
    [Test]
    public void Feedback_GivesTheNetworkThePreviousOutput_InInferenceAndTraining()
    {
        const int w = 16, h = 16, plane = w * h;
        using var demo = new DenoisingDemo(Context, w, h, referenceSamples: 8, feedback: true);
        Assert.That(demo.InputChannels, Is.EqualTo(12));
        Assert.That(demo.Network.Infer.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 12, h, w)));
        Assert.That(demo.Network.Train.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 12, h, w)));
        using var loop = new FrameLoop(demo);

        loop.Run(1, _ => { });
        var x0 = demo.Network.Infer.Inputs["x"].ToArray();
        var y0 = demo.Network.Infer.Outputs["y"].ToArray();
        Assert.That(x0[(9 * plane)..(12 * plane)], Is.EqualTo(x0[..(3 * plane)]), "frame 0: the noisy colour stands in for a previous output");

        loop.Run(1, _ => { });
        var x1 = demo.Network.Infer.Inputs["x"].ToArray();
        var t1 = demo.Network.Train.Inputs["x"].ToArray();
        Assert.That(x1[(9 * plane)..(12 * plane)], Is.EqualTo(y0), "frame 1: frame 0's denoised output");
        Assert.That(t1[(9 * plane)..(12 * plane)], Is.EqualTo(y0), "training sees the same fed-back frame");
        Assert.That(x1[..(3 * plane)], Is.Not.EqualTo(x0[..(3 * plane)]), "the noisy input changed, so the check above is not vacuous");
        Assert.That(demo.Network.Infer.Outputs["y"].ToArray(), Is.Not.EqualTo(y0));
    }

    [Test]
    public void WithoutFeedback_TheNetworkHasNineInputs()
    {
        using var demo = new DenoisingDemo(Context, 16, 16, referenceSamples: 8);
        Assert.That(demo.InputChannels, Is.EqualTo(9));
        Assert.That(demo.Network.Infer.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 9, 16, 16)));
    }

    [Test]
    public void Flicker_OfDenoisedAndReference_IsSummarisedInTheStatistics()
    {
        using var demo = new DenoisingDemo(Context, 16, 16, referenceSamples: 8, feedback: true);
        using var loop = new FrameLoop(demo);
        var stats = loop.Run(3, _ => { });
        foreach (var name in new[] { "flicker_denoised", "flicker_reference" })
        {
            var values = stats.Records.Skip(1).Select(r => r.Metrics[name]).ToList();
            Assert.That(values, Has.All.GreaterThanOrEqualTo(0.0).And.All.LessThanOrEqualTo(1.0));
            Assert.That(stats.MeanMetrics[name], Is.EqualTo(values.Average()).Within(1e-12), name);
        }
    }
}
