using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Where Kiln records GPU work: a <see cref="CommandList"/> of Kiln's own, or a host application's command
/// buffer (<see cref="HostCommandBuffer"/>). Everything that records (a compiled network, a single kernel)
/// takes a CommandTarget, so the same work runs standalone or inside a host's frame.
/// </summary>
public abstract class CommandTarget
{
    private protected CommandTarget(GpuContext context) => Context = context;

    /// <summary>The context whose device this records for.</summary>
    public GpuContext Context { get; }

    internal abstract CommandRecorder Recorder { get; }

    /// <summary>Dispatches recorded so far.</summary>
    public int DispatchCount => Recorder.DispatchCount;

    /// <summary>Pipeline barriers recorded so far.</summary>
    public int BarrierCount => Recorder.BarrierCount;
}
