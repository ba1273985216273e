using System.Diagnostics;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>The frame loop's synchronisation, timing and presentation, on the Playground demo (the cheapest).</summary>
public sealed class FrameLoopTests : GpuTest
{
    const int Size = 32;

    [TestCase(2)]
    [TestCase(3)]
    public void KeepsFramesInFlight_AndNeverWaitsOnTheFrameJustSubmitted(int inFlight)
    {
        const int frames = 9;
        using var demo = new PlaygroundDemo(Context, Size, Size, pointCount: 40) { TrainingStepsPerFrame = 2 };
        using var loop = new FrameLoop(demo, new FrameLoopOptions { FramesInFlight = inFlight });
        var seen = new List<int>();
        loop.Run(frames, f => seen.Add(f.Record.Index));

        Assert.That(loop.MaxFramesInFlight, Is.EqualTo(inFlight), "frames submitted and not yet waited for");
        Assert.That(loop.Waits, Has.Count.EqualTo(frames - inFlight), "one wait per reused slot");
        foreach (var w in loop.Waits)
        {
            Assert.That(w.WaitedFrame, Is.Not.EqualTo(w.NewestSubmitted), "waited on the frame just submitted");
            Assert.That(w.WaitedFrame, Is.EqualTo(w.NewestSubmitted - (inFlight - 1)), "waits only for the oldest frame in flight");
        }
        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, frames)), "frames are presented once each, in order");
    }

    [Test]
    public void MeasuresEveryStage_AndPresentsTheComposedFrame()
    {
        using var demo = new PlaygroundDemo(Context, Size, Size, pointCount: 40);
        using var loop = new FrameLoop(demo);
        int presented = 0;
        var stats = loop.Run(4, f =>
        {
            Assert.That(f.Width, Is.EqualTo(Size));
            Assert.That(f.Rgba.Length, Is.EqualTo(Size * Size * 4));
            // Every pixel is written: alpha is opaque everywhere.
            for (int i = 3; i < f.Rgba.Length; i += 4) Assert.That(f.Rgba[i], Is.EqualTo(255));
            presented++;
        });
        Assert.That(presented, Is.EqualTo(4));
        foreach (var r in loop.Records)
        {
            Assert.That(r.StageMilliseconds.Keys, Is.EquivalentTo(new[] { FrameStage.Training, FrameStage.Network, FrameStage.Composite }));
            Assert.That(r.StageMilliseconds.Values, Has.All.GreaterThanOrEqualTo(0));
            Assert.That(r.Metrics.ContainsKey("loss"), Is.True);
            Assert.That(r.FrameMilliseconds, Is.GreaterThan(0));
        }
        Assert.That(stats.Frames, Is.EqualTo(4));
        Assert.That(stats.P50FrameMilliseconds, Is.LessThanOrEqualTo(stats.P99FrameMilliseconds));
    }

    [Test]
    public void RunsInChunks_ContinueTheFrameNumbers_AndKeepOnlyTheLastRunsRecords()
    {
        using var demo = new PlaygroundDemo(Context, 16, 16, pointCount: 20);
        using var loop = new FrameLoop(demo);
        loop.Run(3);
        var seen = new List<int>();
        var stats = loop.Run(4, f => seen.Add(f.Record.Index));
        Assert.That(seen, Is.EqualTo(new[] { 3, 4, 5, 6 }));
        Assert.That(loop.Records.Select(r => r.Index), Is.EqualTo(seen));
        Assert.That(stats.Frames, Is.EqualTo(4));
        Assert.That(loop.Waits, Has.Count.EqualTo(2));
        Assert.That(loop.Waits.Select(w => w.WaitedFrame), Is.EqualTo(new[] { 0, 1 }), "waits count frames of the run");
    }

    [Test]
    public void PacesSubmissionsToTheTargetRate()
    {
        const double fps = 25;
        const int frames = 6;
        using var demo = new PlaygroundDemo(Context, 16, 16, pointCount: 20) { Training = false };
        using var loop = new FrameLoop(demo, new FrameLoopOptions { TargetFps = fps });
        var clock = Stopwatch.StartNew();
        loop.Run(frames);
        // Frame k is not submitted before k / fps seconds: a lower bound, not a speed.
        Assert.That(clock.Elapsed.TotalSeconds, Is.GreaterThanOrEqualTo((frames - 1) / fps));
    }

    [Test]
    public void RejectsBadOptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameLoopOptions { FramesInFlight = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameLoopOptions { TargetFps = -1 }.Validate());
        using var demo = new PlaygroundDemo(Context, 16, 16, pointCount: 20);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameLoop(demo, new FrameLoopOptions { FramesInFlight = 5 }));
        using var loop = new FrameLoop(demo);
        Assert.Throws<ArgumentOutOfRangeException>(() => loop.Run(0));
    }
}
