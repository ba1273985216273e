using Kiln.Embedding;
using Kiln.Tests.Vulkan;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// What a host engine relies on besides the numbers: its logger, its queue lock, debug-utils names and labels,
/// concurrent uploads, out-of-memory as a clear exception, and its device and images usable after Kiln is gone.
/// </summary>
public sealed class HostContractsTests
{
    sealed class ListLogger : ILogger
    {
        public readonly List<(LogLevel Level, string Text)> Entries = new();
        public IDisposable BeginScope<TState>(TState state) where TState : notnull => new Nothing();
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, formatter(state, exception)));
        }
        sealed class Nothing : IDisposable { public void Dispose() { } }
    }

    [Test]
    public void KilnsWarnings_GoToTheHostsILogger()
    {
        var logger = new ListLogger();
        var ctx = GpuContext.Create(Gpu.Options with { Log = null, Logger = logger, PipelineCacheDirectory = "" });
        _ = new Tensor(ctx, new Shape(4), name: "never disposed");
        ctx.Dispose();
        Assert.That(logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Text.Contains("still alive") && e.Text.Contains("never disposed")), Is.True,
            string.Join("\n", logger.Entries));
    }

    [Test]
    public void EverySubmissionGoesThroughTheHostsQueueAccess_AndOneThatDoesNotRunItThrows()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var hostQueueLock = new object();
            int calls = 0;
            bool insideLock = true;
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options with
            {
                QueueAccess = submit => { lock (hostQueueLock) { calls++; insideLock &= Monitor.IsEntered(hostQueueLock); submit(); } },
            });
            try
            {
                using (var t = Tensor.From(ctx, new Shape(3), new[] { 1f, 2f, 3f }, "t"))
                    Assert.That(t.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
                Assert.That(calls, Is.GreaterThanOrEqualTo(2), "the upload's and the download's submissions");
                Assert.That(insideLock, Is.True);
            }
            finally { ctx.Dispose(); }

            var broken = GpuContext.Adopt(host.Handles, Gpu.Options with { QueueAccess = _ => { } });
            try
            {
                using var t = new Tensor(broken, new Shape(3), name: "t");
                var e = Assert.Throws<KilnException>(() => t.Upload(new[] { 1f, 2f, 3f }));
                Assert.That(e!.Message, Does.Contain("QueueAccess"));
            }
            finally { broken.Dispose(); }
            Assert.That(broken.LiveObjects(), Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }

    [Test]
    public void WithDebugUtils_KilnNamesItsObjectsAndLabelsItsPasses_ValidationSilent_AndAfterDisposeTheHostsImagesStillWork()
    {
        var host = new HostApp(frames: 1);
        try
        {
            using var src = new HostImageResources(host, 16, 16, HostImageFormat.Rgba32Float);
            using var dst = new HostImageResources(host, 16, 16, HostImageFormat.Rgba32Float);
            var plain = GpuContext.Adopt(host.Handles, Gpu.Options);
            Assert.That(plain.DebugUtilsCounts, Is.EqualTo((0, 0)), "the host did not say it enabled VK_EXT_debug_utils");
            plain.Dispose();

            var ctx = GpuContext.Adopt(host.Handles with { EnabledFeatures = HostDeviceFeatures.DebugUtils }, Gpu.Options);
            try
            {
                var data = ImageInteropTests.Fill(src, 4);
                using (var pass = PostProcessPass.Inpaint(ctx, 16, 16, seed: 1, channels: new[] { 4, 8 }))
                {
                    host.Begin(0);
                    src.RecordUpload(host.Commands[0]);
                    dst.RecordToGeneral(host.Commands[0]);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    pass.Record(frame, new[] { src.Kiln, src.Kiln }, dst.Kiln);
                    int dispatches = frame.DispatchCount;
                    frame.Submitted();
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();
                    var (named, labels) = ctx.DebugUtilsCounts;
                    Assert.That(named, Is.GreaterThan(0), "buffers, pipelines, descriptor pools");
                    Assert.That(labels, Is.EqualTo(dispatches + 1), "one label around the pass, one around each dispatch");
                }
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }

            // Kiln is gone: the host's device, queue and images still work with the host's own commands.
            var again = ImageInteropTests.Fill(src, 77);
            host.Begin(0);
            src.RecordUpload(host.Commands[0]);
            src.RecordReadback(host.Commands[0]);
            host.EndAndSubmit(0);
            host.Wait(0);
            Assert.That(ImageInteropTests.Read(src), Is.EqualTo(again));
            Assert.That(host.Messages, Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }

    [Test]
    public void UploadsAndDownloadsFromSeveralThreadsAtOnce_EachGetTheirOwnData()
    {
        var ctx = Gpu.Context;
        var tensors = Enumerable.Range(0, 4).Select(i => new Tensor(ctx, new Shape(1000), name: $"thread {i}")).ToArray();
        try
        {
            Parallel.For(0, 4, i =>
            {
                for (int round = 0; round < 10; round++)
                {
                    var data = Enumerable.Range(0, 1000).Select(k => (float)(i * 100000 + round * 1000 + k)).ToArray();
                    tensors[i].Upload(data);
                    Assert.That(tensors[i].ToArray(), Is.EqualTo(data), $"thread {i}, round {round}");
                }
            });
        }
        finally { foreach (var t in tensors) t.Dispose(); }
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }

    [Test]
    public void APassTooLargeForTheMemoryLimit_ThrowsGpuOutOfMemory_LeavesNothing_AndASmallerOneStillWorks()
    {
        var ctx = GpuContext.Create(Gpu.Options with { MemoryLimitBytes = 1 << 20, PipelineCacheDirectory = "" });
        try
        {
            var e = Assert.Throws<GpuOutOfMemoryException>(() => PostProcessPass.Denoise(ctx, 256, 256));
            Assert.That(e!.Message, Is.Not.Empty);
            Assert.That(ctx.AllocatedBytes, Is.Zero);
            Assert.That(ctx.LiveObjects(), Is.Empty);
            using var small = PostProcessPass.Inpaint(ctx, 8, 8, channels: new[] { 4, 8 });
            Assert.That(small.Network.LevelCount, Is.GreaterThan(0));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { ctx.Dispose(); }
    }
}
