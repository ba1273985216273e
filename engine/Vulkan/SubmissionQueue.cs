using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>Submits Kiln's own command buffers to the queue and tracks their fences until they signal.</summary>
internal sealed unsafe class SubmissionQueue : IDisposable
{
    readonly GpuContext context;
    readonly List<Submission> pending = new();
    readonly Stack<Fence> spareFences = new();
    readonly object gate = new();

    public SubmissionQueue(GpuContext context) => this.context = context;

    /// <summary>Retains <paramref name="uses"/>, submits, and returns the submission that will release them.</summary>
    public Submission Submit(CommandBuffer cmd, IReadOnlyCollection<GpuResource> uses, Action? onComplete = null)
    {
        context.ThrowIfDisposed();
        Collect();
        var retained = uses.ToArray();
        int done = 0;
        try
        {
            for (; done < retained.Length; done++) retained[done].Retain();
        }
        catch
        {
            for (int i = 0; i < done; i++) retained[i].Release();
            throw;
        }
        Fence fence;
        lock (gate) fence = spareFences.Count > 0 ? spareFences.Pop() : NewFence();
        Result r = Result.NotReady;
        void Run() => r = SubmitLocked(cmd, fence);
        if (context.QueueAccess is { } access) access(Run);
        else Run();
        if (r == Result.NotReady)
        {
            foreach (var x in retained) x.Release();
            lock (gate) spareFences.Push(fence);
            throw new KilnException("ContextOptions.QueueAccess returned without running Kiln's queue submission.");
        }
        if (r != Result.Success)
        {
            foreach (var x in retained) x.Release();
            lock (gate) spareFences.Push(fence);
            VulkanException.Check(r, "vkQueueSubmit");
        }
        var s = new Submission(context, fence, retained, onComplete);
        lock (gate) pending.Add(s);
        return s;
    }

    Fence NewFence()
    {
        var info = new FenceCreateInfo { SType = StructureType.FenceCreateInfo };
        Fence f;
        VulkanException.Check(context.Vk.CreateFence(context.Device, &info, null, &f), "vkCreateFence");
        return f;
    }

    /// <summary>Called by a submission when its fence has signalled: the fence goes back to the spares.</summary>
    public void Completed(Submission s, Fence fence)
    {
        var f = fence;
        context.Vk.ResetFences(context.Device, 1, &f);
        lock (gate)
        {
            pending.Remove(s);
            spareFences.Push(fence);
        }
    }

    /// <summary>Releases what finished submissions kept alive, without waiting.</summary>
    public void Collect()
    {
        Submission[] snapshot;
        lock (gate) snapshot = pending.ToArray();
        foreach (var s in snapshot) _ = s.IsCompleted;
    }

    public void WaitAll()
    {
        Submission[] snapshot;
        lock (gate) snapshot = pending.ToArray();
        foreach (var s in snapshot) s.Wait();
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var f in spareFences) context.Vk.DestroyFence(context.Device, f, null);
            spareFences.Clear();
        }
    }

    Result SubmitLocked(CommandBuffer cmd, Fence fence)
    {
        var info = new SubmitInfo
        {
            SType = StructureType.SubmitInfo,
            CommandBufferCount = 1,
            PCommandBuffers = &cmd,
        };
        lock (context.QueueGate) return context.Vk.QueueSubmit(context.Queue, 1, &info, fence);
    }
}
