using System.Diagnostics;
using Kiln.Vulkan;

namespace Kiln.Realtime;

/// <summary>
/// The real-time loop: each frame is recorded into a command list of its own and submitted without waiting;
/// before recording frame k the CPU waits only for frame k - <see cref="FrameLoopOptions.FramesInFlight"/>
/// (the frame that last used the slot), never, with two or more in flight, for the frame it has just submitted. Every frame carries GPU
/// timestamps around its stages and copies its composed RGBA8 frame and scalars into a host-visible buffer of
/// its slot, read when the slot is reused (or at the end of the run).
/// </summary>
public sealed class FrameLoop : IDisposable
{
    const int ScalarSlots = 16;
    readonly RealtimeDemo demo;
    readonly FrameLoopOptions options;
    readonly Slot[] slots;
    readonly Tensor display, scalars;
    readonly List<FrameWait> waits = new();
    readonly List<FrameRecord> records = new();
    readonly Stopwatch clock = new();
    double lastCompletionMs;
    int maxInFlight, framesRun;
    bool disposed;

    sealed class Slot
    {
        public required GpuTimer Timer;
        public required HostReadback Readback;
        public CommandList? List;
        public Submission? Pending;
        public Frame? Frame;
    }

    /// <summary>A loop running <paramref name="demo"/> (which it does not own).</summary>
    public FrameLoop(RealtimeDemo demo, FrameLoopOptions? options = null)
    {
        this.demo = demo ?? throw new ArgumentNullException(nameof(demo));
        this.options = options ?? new FrameLoopOptions();
        this.options.Validate();
        var ctx = demo.Context;
        int pixels = demo.Width * demo.Height;
        display = new Tensor(ctx, new Shape(pixels), ElementType.F32, null, "realtime display (RGBA8 words)");
        scalars = new Tensor(ctx, new Shape(ScalarSlots), ElementType.F32, null, "realtime frame scalars");
        slots = new Slot[this.options.FramesInFlight];
        try
        {
            for (int i = 0; i < slots.Length; i++)
                slots[i] = new Slot
                {
                    Timer = new GpuTimer(ctx, 8),
                    Readback = new HostReadback(ctx, (ulong)(pixels + ScalarSlots) * 4, $"realtime frame readback {i}"),
                };
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Every wait of the CPU for an earlier frame during the last <see cref="Run"/> (frame numbers of that run), the final drain excluded.</summary>
    public IReadOnlyList<FrameWait> Waits => waits;
    /// <summary>The most frames submitted and not yet waited for at any moment.</summary>
    public int MaxFramesInFlight => maxInFlight;
    /// <summary>
    /// Records of the last run's frames, in order (each run starts afresh, so a long session run in chunks keeps
    /// bounded memory; frame indices continue across runs).
    /// </summary>
    public IReadOnlyList<FrameRecord> Records => records;

    /// <summary>
    /// Runs <paramref name="frames"/> frames; <paramref name="onFrame"/> sees each one as it completes (in order).
    /// Returns the run's statistics. Cancelling <paramref name="cancel"/> stops submitting new frames (those in flight
    /// still complete and are presented).
    /// </summary>
    public FrameStatistics Run(int frames, FrameCallback? onFrame = null, CancellationToken cancel = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (frames < 1) throw new ArgumentOutOfRangeException(nameof(frames), frames, "Run at least one frame.");
        int first = framesRun;
        records.Clear();
        waits.Clear();
        clock.Restart();
        lastCompletionMs = 0;
        int newest = -1;
        try
        {
            for (int k = 0; k < frames && !cancel.IsCancellationRequested; k++)
            {
                if (options.TargetFps is { } fps)
                {
                    double due = k * 1000.0 / fps, now = clock.Elapsed.TotalMilliseconds;
                    if (due > now) Thread.Sleep(TimeSpan.FromMilliseconds(due - now));
                }
                var slot = slots[k % slots.Length];
                if (slot.Pending != null)
                {
                    waits.Add(new FrameWait(slot.Frame!.Index - first, newest, slot.Pending.IsCompleted));
                    Finish(slot, first, onFrame);
                }
                Submit(slot, k, first + k);
                newest = k;
                maxInFlight = Math.Max(maxInFlight, slots.Count(s => s.Pending != null));
            }
        }
        finally
        {
            // Drain in frame order, presenting what completed even when a frame failed.
            try
            {
                foreach (var s in slots.Where(s => s.Pending != null).OrderBy(s => s.Frame!.Index).ToList())
                    Finish(s, first, onFrame);
            }
            finally { framesRun = first + records.Count; }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        int done = records.Count;
        if (done == 0) throw new OperationCanceledException("The run was cancelled before its first frame.", cancel);
        return new FrameStatistics(records.ToList(), seconds, warmupFrames: Math.Min(options.FramesInFlight, done - 1));
    }

    void Submit(Slot slot, int k, int index)
    {
        var list = demo.Context.CreateCommandList($"realtime frame {index}");
        try
        {
            var frame = new Frame(index, k % slots.Length, index * options.SecondsPerFrame, list, slot.Timer, display, scalars);
            var r = frame.Recorder;
            r.Use(slot.Timer);
            slot.Timer.Reset(r.Cmd);
            r.Barrier(BarrierKind.Full);
            r.Fill(scalars.Storage, BitConverter.SingleToUInt32Bits(float.NaN));
            r.Barrier(BarrierKind.TransferToCompute);
            demo.Record(frame);
            r.Barrier(BarrierKind.ComputeToTransfer);
            slot.Readback.RecordCopy(r, display.Storage, (ulong)display.SizeInBytes, 0);
            slot.Readback.RecordCopy(r, scalars.Storage, (ulong)scalars.SizeInBytes, (ulong)display.SizeInBytes);
            slot.Readback.RecordHostBarrier(r);
            slot.Pending = list.Submit();
            slot.List = list;
            slot.Frame = frame;
        }
        catch
        {
            list.Dispose();
            throw;
        }
    }

    void Finish(Slot slot, int first, FrameCallback? onFrame)
    {
        var pending = slot.Pending!;
        var frame = slot.Frame!;
        slot.Pending = null;
        try
        {
            pending.Wait();
            double now = clock.Elapsed.TotalMilliseconds;
            var spans = slot.Timer.Read();
            var stages = new Dictionary<FrameStage, double>();
            for (int i = 0; i < spans.Count; i++)
            {
                var stage = frame.Stages[i];
                stages[stage] = stages.GetValueOrDefault(stage) + spans[i].Milliseconds;
            }
            int pixels = demo.Width * demo.Height;
            var bytes = slot.Readback.Bytes;
            var rgba = bytes[..(pixels * 4)];
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.Slice(pixels * 4, ScalarSlots * 4));
            var metrics = new Dictionary<string, double>();
            var names = demo.ScalarNames;
            for (int i = 0; i < names.Count && i < ScalarSlots; i++)
                if (!float.IsNaN(values[i])) metrics[names[i]] = values[i];
            demo.AddMetrics(rgba, metrics);
            var record = new FrameRecord(frame.Index, now - lastCompletionMs, stages, metrics);
            lastCompletionMs = now;
            records.Add(record);
            onFrame?.Invoke(new CompletedFrame(record, rgba, demo.Width, demo.Height));
        }
        finally
        {
            slot.List?.Dispose();
            slot.List = null;
        }
    }

    /// <summary>Waits for frames still in flight and frees the loop's buffers (not the demo).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (slots != null)
            foreach (var s in slots)
            {
                if (s == null) continue;
                try { s.Pending?.Wait(); } catch (KilnException) { }
                s.List?.Dispose();
                s.Timer.Dispose();
                s.Readback.Dispose();
            }
        display?.Dispose();
        scalars?.Dispose();
    }
}

