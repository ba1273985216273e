namespace Kiln.Vulkan;

/// <summary>
/// A Vulkan object with one owner whose destruction waits for the GPU: every submission that uses it (a
/// command list's, or a host frame from <see cref="HostCommandBuffer.Submitted"/> to
/// <see cref="HostCommandBuffer.Completed"/>) retains it, and <see cref="Dispose"/> destroys it only once the
/// last of them has released it. Submissions may finish in any order; nothing here assumes they finish in
/// the order they were made. Recording alone does not retain: disposing a resource between recording and
/// submitting makes the submit throw <see cref="ObjectDisposedException"/> naming it.
/// </summary>
internal abstract class GpuResource : IDisposable
{
    protected readonly GpuContext Context;
    readonly object gate = new();
    int uses;
    bool disposeRequested;
    bool destroyed;

    protected GpuResource(GpuContext context) => Context = context;

    /// <summary>What this is, for error messages ("tensor 'conv1.weight' [64,9,3,3] f32").</summary>
    public abstract string Describe();

    public bool IsDisposed
    {
        get { lock (gate) return disposeRequested; }
    }

    public void ThrowIfDisposed()
    {
        if (IsDisposed) throw new ObjectDisposedException(Describe(), $"{Describe()} was used after it was disposed.");
    }

    public void Retain()
    {
        lock (gate)
        {
            if (disposeRequested) throw new ObjectDisposedException(Describe(), $"{Describe()} was used after it was disposed.");
            uses++;
        }
    }

    public void Release()
    {
        bool destroy;
        lock (gate)
        {
            if (uses <= 0) throw new InvalidOperationException($"{Describe()} released more often than retained.");
            uses--;
            destroy = uses == 0 && disposeRequested && !destroyed;
            if (destroy) destroyed = true;
        }
        if (destroy) DestroyNow();
    }

    public void Dispose()
    {
        bool destroy;
        lock (gate)
        {
            if (disposeRequested) return;
            disposeRequested = true;
            destroy = uses == 0 && !destroyed;
            if (destroy) destroyed = true;
        }
        if (destroy) DestroyNow();
    }

    /// <summary>Frees the Vulkan object(s); called once, when disposed and no longer in use by the GPU.</summary>
    protected abstract void DestroyNow();
}
