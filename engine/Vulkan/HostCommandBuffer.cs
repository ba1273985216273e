using Kiln.Vulkan;
using Silk.NET.Vulkan;

namespace Kiln;

/// <summary>
/// A command buffer that a host application allocated, began and will submit itself; Kiln records into it.
/// Kiln cannot see the host's fence, so the host calls <see cref="Completed"/> once the GPU has finished
/// that submission (after waiting on its fence): until then Kiln keeps every resource the commands use.
/// </summary>
public sealed class HostCommandBuffer : CommandTarget
{
    readonly CommandRecorder recorder;
    readonly DescriptorArena arena;
    bool retained;
    bool completed;

    internal HostCommandBuffer(GpuContext context, nint commandBuffer) : base(context)
    {
        if (commandBuffer == 0) throw new ArgumentException("The host command buffer handle is null.", nameof(commandBuffer));
        arena = new DescriptorArena(context, "host command buffer");
        recorder = new CommandRecorder(context, new CommandBuffer(commandBuffer), arena, null);
        // The host's earlier commands in this frame may have written what Kiln reads (a rendered image).
        recorder.Barrier(BarrierKind.Full);
    }

    internal override CommandRecorder Recorder
    {
        get
        {
            if (retained) throw new InvalidOperationException("Kiln's recording into this host command buffer was finished with Submitted(); wrap the next command buffer anew.");
            return recorder;
        }
    }

    /// <summary>
    /// Call after the last Kiln recording and before the host submits: closes Kiln's part with a barrier so
    /// the host's later commands see Kiln's writes, and keeps Kiln's resources alive until <see cref="Completed"/>.
    /// </summary>
    public void Submitted()
    {
        if (retained) return;
        // All or nothing: if a recorded resource was disposed meanwhile, this throws and holds nothing.
        var held = new List<GpuResource>();
        try
        {
            foreach (var r in recorder.Uses) { r.Retain(); held.Add(r); }
        }
        catch
        {
            foreach (var r in held) r.Release();
            throw;
        }
        recorder.Barrier(BarrierKind.Full);
        retained = true;
    }

    /// <summary>
    /// The GPU has finished the host's submission of this command buffer (or the host abandoned it unsubmitted):
    /// Kiln may free what it used.
    /// </summary>
    public void Completed()
    {
        if (completed) return;
        completed = true;
        if (retained) foreach (var r in recorder.Uses) r.Release();
        arena.Dispose();
    }
}
