using Kiln.Embedding;
using Kiln.Models;
using Kiln.Tests.Acceptance;
using Kiln.Tests.Reference;
using Kiln.Tests.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// Post-process passes in the raw-Vulkan host's frames: the output image against the CPU reference network run
/// on the same input images (zero-padded to the model's multiple, then cropped), resizing with a frame in flight,
/// and one run spread over frames. Synchronization validation on throughout.
/// </summary>
public sealed class PostProcessPassTests
{
    [Test]
    public void Denoise_AtASizeNotAMultipleOf16_MatchesTheCpuReference_AndResizeWithAFrameInFlightFreesTheOldNetworkOnlyWhenItCompletes()
    {
        var host = new HostApp(frames: 2);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                var images = new List<HostImageResources>();
                HostImageResources Image(int w, int h) { var r = new HostImageResources(host, w, h, HostImageFormat.Rgba32Float); images.Add(r); return r; }
                try
                {
                    using (var pass = PostProcessPass.Denoise(ctx, 20, 12, seed: 3))
                    {
                        Assert.That(pass.Network.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 9, 16, 32)), "padded to multiples of 16");
                        var inA = new[] { Image(20, 12), Image(20, 12), Image(20, 12) };
                        var outA = Image(20, 12);
                        var dataA = inA.Select((im, i) => ImageInteropTests.Fill(im, 10 + i)).ToArray();
                        var paramsA = Parameters(pass.Network);
                        var frame0 = RecordFrame(host, ctx, 0, pass, inA, outA, out bool ready0);
                        Assert.That(ready0, Is.True);

                        long before = ctx.AllocatedBytes;
                        pass.Resize(17, 9);
                        Assert.That(pass.Network.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 9, 16, 32)));
                        pass.Resize(36, 20);
                        Assert.That(pass.Network.Inputs["x"].Shape, Is.EqualTo(new Shape(1, 9, 32, 48)));
                        Assert.That(ctx.AllocatedBytes, Is.GreaterThan(before), "the old network stays until frame 0 completes");
                        Assert.Throws<ArgumentException>(() => RecordFrame(host, ctx, 1, pass, inA, outA, out _), "20x12 images for a 36x20 pass");
                        host.End(1);
                        var inB = new[] { Image(36, 20), Image(36, 20), Image(36, 20) };
                        var outB = Image(36, 20);
                        var dataB = inB.Select((im, i) => ImageInteropTests.Fill(im, 20 + i)).ToArray();
                        var frame1 = RecordFrame(host, ctx, 1, pass, inB, outB, out _);

                        host.Wait(0);
                        long pending = ctx.AllocatedBytes;
                        frame0.Completed();
                        Assert.That(ctx.AllocatedBytes, Is.LessThan(pending), "frame 0's completion released the 20x12 network");
                        host.Wait(1);
                        frame1.Completed();

                        Assert.That(Parameters(pass.Network).Keys, Is.EquivalentTo(paramsA.Keys));
                        foreach (var (name, v) in Parameters(pass.Network)) Assert.That(v, Is.EqualTo(paramsA[name]), $"{name} kept through Resize");
                        Check(DenoiseUNet.Build(), paramsA, dataA, 20, 12, 16, outA);
                        Check(DenoiseUNet.Build(), paramsA, dataB, 36, 20, 16, outB);
                    }
                }
                finally { foreach (var im in images) im.Dispose(); }
                Assert.That(ctx.AllocatedBytes, Is.Zero);
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.Messages, Is.Empty, "validation while the pass ran in the host's frames");
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports anything Kiln left behind");
    }

    [Test]
    public void Inpaint_SpreadOverFrames_SignalsReadyOnlyOnTheLastFrame_AndGivesTheSameResult()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                var color = new HostImageResources(host, 11, 8, HostImageFormat.Rgba16Float);
                var mask = new HostImageResources(host, 11, 8, HostImageFormat.Rgba8Unorm);
                var output = new HostImageResources(host, 11, 8, HostImageFormat.Rgba32Float);
                try
                {
                    var data = new[] { ImageInteropTests.Fill(color, 1), ImageInteropTests.Fill(mask, 2) };
                    using var pass = PostProcessPass.Inpaint(ctx, 11, 8, seed: 5, channels: new[] { 4, 8 });
                    int levels = pass.Network.LevelCount;
                    pass.LevelsPerFrame = 3;
                    int frames = (levels + 2) / 3;
                    Assert.That(frames, Is.GreaterThan(1), $"{levels} levels");
                    for (int f = 0; f < frames; f++)
                    {
                        var frame = RecordFrame(host, ctx, 0, pass, new[] { color, mask }, output, out bool ready);
                        Assert.That(ready, Is.EqualTo(f == frames - 1), $"frame {f} of {frames}");
                        Assert.That(pass.RunInProgress, Is.EqualTo(f < frames - 1));
                        host.Wait(0);
                        frame.Completed();
                    }
                    Check(InpaintUNet.Build(4, 8), Parameters(pass.Network), data, 11, 8, 2, output);
                    Assert.Throws<ArgumentOutOfRangeException>(() => pass.LevelsPerFrame = 0);
                }
                finally { color.Dispose(); mask.Dispose(); output.Dispose(); }
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.Messages, Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }

    [Test]
    public void AMillisecondBudget_FromMeasuredLevelTimes_SpreadsTheRunOverFramesThatEachFitIt()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options with { Profiling = true });
            try
            {
                var color = new HostImageResources(host, 8, 8, HostImageFormat.Rgba32Float);
                var mask = new HostImageResources(host, 8, 8, HostImageFormat.Rgba32Float);
                var output = new HostImageResources(host, 8, 8, HostImageFormat.Rgba32Float);
                try
                {
                    var data = new[] { ImageInteropTests.Fill(color, 3), ImageInteropTests.Fill(mask, 4) };
                    using var pass = PostProcessPass.Inpaint(ctx, 8, 8, seed: 2, channels: new[] { 4, 8 });
                    var times = pass.MeasureLevelTimes();
                    Assert.That(times, Has.Count.EqualTo(pass.Network.LevelCount));
                    Assert.That(times.All(t => t >= 0) && times.Sum() > 0, Is.True, string.Join(", ", times));
                    double budget = times.Sum() / 3;
                    pass.SetFrameBudget(budget, times);
                    Assert.Throws<ArgumentException>(() => pass.SetFrameBudget(1, times.Take(2).ToList()));

                    // The frames a greedy split of the measured times gives, each within the budget unless one level alone exceeds it.
                    var expectedFrames = new List<int>();
                    for (int level = 0; level < times.Count;)
                    {
                        double spent = times[level];
                        int n = 1;
                        while (level + n < times.Count && spent + times[level + n] <= budget) spent += times[level + n++];
                        Assert.That(spent <= budget || n == 1, Is.True);
                        expectedFrames.Add(n);
                        level += n;
                    }
                    Assert.That(expectedFrames.Count, Is.GreaterThan(1));
                    for (int f = 0; f < expectedFrames.Count; f++)
                    {
                        var frame = RecordFrame(host, ctx, 0, pass, new[] { color, mask }, output, out bool ready);
                        Assert.That(ready, Is.EqualTo(f == expectedFrames.Count - 1), $"frame {f} of {expectedFrames.Count}");
                        host.Wait(0);
                        frame.Completed();
                    }
                    Check(InpaintUNet.Build(4, 8), Parameters(pass.Network), data, 8, 8, 2, output);
                }
                finally { color.Dispose(); mask.Dispose(); output.Dispose(); }
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }

    static Dictionary<string, float[]> Parameters(CompiledNetwork n) => n.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray());

    /// <summary>One host frame: upload the inputs, the output to GENERAL, the pass, the output read back.</summary>
    static HostCommandBuffer RecordFrame(HostApp host, GpuContext ctx, int f, PostProcessPass pass, HostImageResources[] inputs, HostImageResources output, out bool ready)
    {
        host.Begin(f);
        var cmd = host.Commands[f];
        foreach (var im in inputs) im.RecordUpload(cmd);
        output.RecordToGeneral(cmd);
        var frame = ctx.WrapHostCommandBuffer(cmd.Handle);
        try { ready = pass.Record(frame, inputs.Select(i => i.Kiln).ToArray(), output.Kiln); }
        catch { frame.Completed(); throw; }
        frame.Submitted();
        output.RecordReadback(cmd);
        host.EndAndSubmit(f);
        return frame;
    }

    /// <summary>The reference network on the images' channels (zero-padded to the multiple), cropped, against the output image's rgb.</summary>
    static void Check(Network net, Dictionary<string, float[]> parameters, float[][] images, int w, int h, int multiple, HostImageResources output)
    {
        int[] take = images.Length == 3 ? new[] { 3, 3, 3 } : new[] { 3, 1 };
        int pw = (w + multiple - 1) / multiple * multiple, ph = (h + multiple - 1) / multiple * multiple;
        int channels = take.Sum();
        var x = new double[channels * ph * pw];
        int c0 = 0;
        for (int i = 0; i < images.Length; i++, c0 += take[i - 1])
            for (int k = 0; k < take[i]; k++)
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++)
                        x[((c0 + k) * ph + y) * pw + xx] = images[i][(y * w + xx) * 4 + k];
        var result = ReferenceNetwork.Forward(net, new Dictionary<string, (double[], int[])> { ["x"] = (x, new[] { 1, channels, ph, pw }) },
            n => parameters[n].Select(v => (double)v).ToArray())["y"].Data;
        var got = ImageInteropTests.Read(output);
        var expected = new List<double>();
        var actual = new List<float>();
        for (int k = 0; k < 3; k++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                {
                    expected.Add(result[(k * ph + y) * pw + xx]);
                    actual.Add(got[(y * w + xx) * 4 + k]);
                }
        Assert.That(RelativeError.MaxRelative(actual, expected), Is.LessThan(Tolerances.Forward));
        Assert.That(Enumerable.Range(0, w * h).All(p => got[p * 4 + 3] == 1f), Is.True, "alpha 1");
    }
}
