using Kiln.Vulkan;
using Silk.NET.Vulkan;

namespace Kiln;

/// <summary>
/// A command buffer of Kiln's own. Record into it, then <see cref="Submit"/>; submitting again replays the
/// same recording (waiting first for the previous replay of this list, which may still be running).
/// </summary>
public sealed unsafe class CommandList : CommandTarget, IDisposable
{
    readonly CommandPool pool;
    readonly CommandBuffer cmd;
    readonly CommandRecorder recorder;
    readonly DescriptorArena arena;
    readonly GpuTimer? timer;
    readonly string label;
    bool ended;
    bool disposed;
    Submission? last;

    internal CommandList(GpuContext context, string label) : base(context)
    {
        this.label = label;
        var vk = context.Vk;
        var poolInfo = new CommandPoolCreateInfo { SType = StructureType.CommandPoolCreateInfo, QueueFamilyIndex = context.QueueFamily };
        CommandPool p;
        VulkanException.Check(vk.CreateCommandPool(context.Device, &poolInfo, null, &p), "vkCreateCommandPool");
        pool = p;
        context.Objects.Created("VkCommandPool", p.Handle, $"command list '{label}'");
        context.Debug?.Name(ObjectType.CommandPool, p.Handle, $"command list '{label}'");
        var alloc = new CommandBufferAllocateInfo
        {
            SType = StructureType.CommandBufferAllocateInfo,
            CommandPool = pool,
            Level = CommandBufferLevel.Primary,
            CommandBufferCount = 1,
        };
        CommandBuffer c;
        VulkanException.Check(vk.AllocateCommandBuffers(context.Device, &alloc, &c), "vkAllocateCommandBuffers");
        cmd = c;
        var begin = new CommandBufferBeginInfo { SType = StructureType.CommandBufferBeginInfo };
        VulkanException.Check(vk.BeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
        arena = new DescriptorArena(context, $"command list '{label}'");
        if (context.Profiling && context.Info.TimestampPeriodNs > 0)
        {
            timer = new GpuTimer(context, 1024);
            timer.Reset(cmd);
        }
        recorder = new CommandRecorder(context, cmd, arena, timer);
        if (timer != null) recorder.Use(timer);
        // Work submitted earlier (uploads, other lists) may have written what this list reads.
        recorder.Barrier(BarrierKind.Full);
    }

    internal override CommandRecorder Recorder
    {
        get
        {
            if (disposed) throw new ObjectDisposedException($"command list '{label}'");
            if (ended) throw new InvalidOperationException($"Command list '{label}' was already submitted; record a new list for new work.");
            return recorder;
        }
    }

    /// <summary>Ends recording (the first time) and submits. Returns the submission to wait on.</summary>
    public Submission Submit()
    {
        if (disposed) throw new ObjectDisposedException($"command list '{label}'");
        if (!ended)
        {
            recorder.Barrier(BarrierKind.Full);
            VulkanException.Check(Context.Vk.EndCommandBuffer(cmd), "vkEndCommandBuffer");
            ended = true;
        }
        last?.Wait();
        last = Context.Submissions.Submit(cmd, recorder.Uses);
        return last;
    }

    /// <summary>Submits and waits.</summary>
    public void Run() => Submit().Wait();

    /// <summary>GPU milliseconds per dispatch of the last completed replay (needs <see cref="ContextOptions.Profiling"/>).</summary>
    public IReadOnlyList<(string Label, double Milliseconds)> Timings()
    {
        if (timer == null) return Array.Empty<(string, double)>();
        last?.Wait();
        return timer.Read();
    }

    /// <summary>
    /// GPU milliseconds of the last completed replay from the first timed dispatch's start to the last one's end
    /// (barriers and gaps included); null without <see cref="ContextOptions.Profiling"/> or timestamps.
    /// </summary>
    public double? TimedSpanMilliseconds()
    {
        if (timer == null) return null;
        last?.Wait();
        return timer.SpanMilliseconds();
    }

    /// <summary>
    /// Untimed replays, at least <paramref name="minReplays"/> and for at least <paramref name="atLeast"/>, however many
    /// replays that takes (a GPU raises its clocks under load, over a few hundred milliseconds on an H200); returns how many
    /// ran.
    /// </summary>
    public int WarmUp(TimeSpan atLeast, int minReplays = 1)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int replays = 0;
        for (; replays < minReplays || clock.Elapsed < atLeast; replays++) Run();
        return replays;
    }

    /// <summary>
    /// At least one warm-up replay (caches, clocks), for <paramref name="warmup"/> where given (<see cref="WarmUp"/>), then
    /// the fastest of <paramref name="replays"/> replays in milliseconds: the timed GPU span where there is one
    /// (<see cref="TimedSpanMilliseconds"/>), else host time from submit to completion.
    /// </summary>
    public double FastestReplayMilliseconds(int replays, TimeSpan? warmup = null)
    {
        WarmUp(warmup ?? TimeSpan.Zero);
        double best = double.PositiveInfinity;
        for (int i = 0; i < replays; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Run();
            sw.Stop();
            best = Math.Min(best, TimedSpanMilliseconds() ?? sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }

    /// <summary>Frees the command buffer once the GPU is done with it (waits for the last replay).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        last?.Wait();
        Context.Vk.DestroyCommandPool(Context.Device, pool, null);
        Context.Objects.Destroyed("VkCommandPool", pool.Handle);
        arena.Dispose();
        timer?.Dispose();
    }
}
