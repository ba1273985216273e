using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>The sample engine's one kind of barrier: a layout transition of a whole single-mip colour image.</summary>
internal static unsafe class ImageBarrier
{
    /// <summary>Records the transition of <paramref name="image"/> with its stages and accesses.</summary>
    public static void Record(Vk vk, CommandBuffer cmd, Image image, ImageLayout from, ImageLayout to,
        PipelineStageFlags src, AccessFlags srcAccess, PipelineStageFlags dst, AccessFlags dstAccess)
    {
        var barrier = new ImageMemoryBarrier
        {
            SType = StructureType.ImageMemoryBarrier,
            OldLayout = from,
            NewLayout = to,
            SrcAccessMask = srcAccess,
            DstAccessMask = dstAccess,
            SrcQueueFamilyIndex = Vk.QueueFamilyIgnored,
            DstQueueFamilyIndex = Vk.QueueFamilyIgnored,
            Image = image,
            SubresourceRange = new ImageSubresourceRange(ImageAspectFlags.ColorBit, 0, 1, 0, 1),
        };
        vk.CmdPipelineBarrier(cmd, src, dst, 0, 0, null, 0, null, 1, &barrier);
    }
}
