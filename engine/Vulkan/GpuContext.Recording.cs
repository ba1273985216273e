using Kiln.Vulkan;

namespace Kiln;

public sealed partial class GpuContext
{
    /// <summary>A new command buffer of Kiln's own to record into and submit.</summary>
    public CommandList CreateCommandList(string label = "commands")
    {
        ThrowIfDisposed();
        return new CommandList(this, label);
    }

    /// <summary>
    /// Records Kiln's work into a command buffer the host allocated and began (VkCommandBuffer handle) on
    /// this device. The host submits it and then calls <see cref="HostCommandBuffer.Completed"/>.
    /// </summary>
    public HostCommandBuffer WrapHostCommandBuffer(nint commandBuffer)
    {
        ThrowIfDisposed();
        return new HostCommandBuffer(this, commandBuffer);
    }
}
