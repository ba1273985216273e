using Kiln.Vulkan;
using Silk.NET.Vulkan;

namespace Kiln;

/// <summary>
/// Work Kiln handed to the queue. Until its fence signals it keeps alive every resource it uses; then it
/// releases them (in whatever order submissions complete).
/// </summary>
public sealed unsafe class Submission
{
    readonly GpuContext context;
    readonly GpuResource[] retained;
    readonly Action? onComplete;
    Fence fence;
    int completed;

    internal Submission(GpuContext context, Fence fence, GpuResource[] retained, Action? onComplete)
    {
        this.context = context;
        this.fence = fence;
        this.retained = retained;
        this.onComplete = onComplete;
    }

    /// <summary>True once the GPU has finished this work.</summary>
    public bool IsCompleted
    {
        get
        {
            if (Volatile.Read(ref completed) != 0) return true;
            var r = context.Vk.GetFenceStatus(context.Device, fence);
            if (r == Result.NotReady) return false;
            VulkanException.Check(r, "vkGetFenceStatus");
            Complete();
            return true;
        }
    }

    /// <summary>
    /// Blocks until the GPU has finished this work. Throws <see cref="KilnException"/> if it takes longer
    /// than <paramref name="timeout"/> (default: KILN_GPU_TIMEOUT_S seconds, else 300), instead of hanging.
    /// </summary>
    public void Wait(TimeSpan? timeout = null)
    {
        if (Volatile.Read(ref completed) != 0) return;
        var t = timeout ?? DefaultTimeout;
        var f = fence;
        var r = context.Vk.WaitForFences(context.Device, 1, &f, true, (ulong)t.Ticks * 100);
        if (r == Result.Timeout)
            throw new KilnException($"GPU work did not finish within {t.TotalSeconds:0.#} s; the device may be hung or far too slow for this size.");
        VulkanException.Check(r, "vkWaitForFences");
        Complete();
    }

    internal static TimeSpan DefaultTimeout =>
        double.TryParse(Environment.GetEnvironmentVariable("KILN_GPU_TIMEOUT_S"), out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(300);

    void Complete()
    {
        if (Interlocked.Exchange(ref completed, 1) != 0) return;
        context.Submissions.Completed(this, fence);
        fence = default;
        foreach (var r in retained) r.Release();
        onComplete?.Invoke();
    }
}
