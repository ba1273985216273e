using Kiln.Embedding;
using Silk.NET.Vulkan;
using VkBuffer = Silk.NET.Vulkan.Buffer;

namespace Kiln.HostSample;

/// <summary>
/// One of the sample engine's offscreen images: rgba32f, device-local, usable as a colour attachment (the scene
/// pass draws it), a storage image (Kiln reads or writes it) and a copy source (read back), with a view and a
/// host-visible readback buffer. The engine records its own layout transitions; this class only helps.
/// </summary>
internal sealed unsafe class RenderTarget : IDisposable
{
    readonly SampleDevice host;
    public readonly Image Image;
    public readonly ImageView View;
    public readonly VkBuffer Readback;
    readonly DeviceMemory imageMemory, readbackMemory;
    readonly float* mapped;
    public readonly int Width, Height;
    public const Format VkFormat = Format.R32G32B32A32Sfloat;

    public RenderTarget(SampleDevice host, int width, int height)
    {
        this.host = host;
        Width = width;
        Height = height;
        var vk = host.Vk;
        var info = new ImageCreateInfo
        {
            SType = StructureType.ImageCreateInfo,
            ImageType = ImageType.Type2D,
            Format = VkFormat,
            Extent = new Extent3D((uint)width, (uint)height, 1),
            MipLevels = 1,
            ArrayLayers = 1,
            Samples = SampleCountFlags.Count1Bit,
            Tiling = ImageTiling.Optimal,
            Usage = ImageUsageFlags.ColorAttachmentBit | ImageUsageFlags.StorageBit | ImageUsageFlags.TransferSrcBit,
            InitialLayout = ImageLayout.Undefined,
        };
        Image image;
        SampleDevice.Check(vk.CreateImage(host.Device, &info, null, &image), "vkCreateImage");
        Image = image;
        MemoryRequirements req;
        vk.GetImageMemoryRequirements(host.Device, Image, &req);
        imageMemory = Allocate(req, MemoryPropertyFlags.DeviceLocalBit);
        SampleDevice.Check(vk.BindImageMemory(host.Device, Image, imageMemory, 0), "vkBindImageMemory");
        var viewInfo = new ImageViewCreateInfo
        {
            SType = StructureType.ImageViewCreateInfo,
            Image = Image,
            ViewType = ImageViewType.Type2D,
            Format = VkFormat,
            SubresourceRange = new ImageSubresourceRange(ImageAspectFlags.ColorBit, 0, 1, 0, 1),
        };
        ImageView view;
        SampleDevice.Check(vk.CreateImageView(host.Device, &viewInfo, null, &view), "vkCreateImageView");
        View = view;

        var bufferInfo = new BufferCreateInfo { SType = StructureType.BufferCreateInfo, Size = (ulong)(width * height * 16), Usage = BufferUsageFlags.TransferDstBit };
        VkBuffer buffer;
        SampleDevice.Check(vk.CreateBuffer(host.Device, &bufferInfo, null, &buffer), "vkCreateBuffer");
        Readback = buffer;
        vk.GetBufferMemoryRequirements(host.Device, Readback, &req);
        readbackMemory = Allocate(req, MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit);
        SampleDevice.Check(vk.BindBufferMemory(host.Device, Readback, readbackMemory, 0), "vkBindBufferMemory");
        void* p;
        SampleDevice.Check(vk.MapMemory(host.Device, readbackMemory, 0, Vk.WholeSize, 0, &p), "vkMapMemory");
        mapped = (float*)p;
    }

    /// <summary>The image as Kiln is given it.</summary>
    public HostImage Kiln => new((nint)View.Handle, Width, Height, HostImageFormat.Rgba32Float);

    /// <summary>The last readback, RGBA floats row by row (valid after the frame's fence).</summary>
    public ReadOnlySpan<float> Pixels => new(mapped, Width * Height * 4);

    DeviceMemory Allocate(MemoryRequirements req, MemoryPropertyFlags flags)
    {
        var info = new MemoryAllocateInfo { SType = StructureType.MemoryAllocateInfo, AllocationSize = req.Size, MemoryTypeIndex = host.MemoryType(req.MemoryTypeBits, flags) };
        DeviceMemory m;
        SampleDevice.Check(host.Vk.AllocateMemory(host.Device, &info, null, &m), "vkAllocateMemory");
        return m;
    }

    /// <summary>Records an image layout transition with its stages and accesses.</summary>
    public void Transition(CommandBuffer cmd, ImageLayout from, ImageLayout to, PipelineStageFlags src, AccessFlags srcAccess, PipelineStageFlags dst, AccessFlags dstAccess) =>
        ImageBarrier.Record(host.Vk, cmd, Image, from, to, src, srcAccess, dst, dstAccess);

    /// <summary>
    /// Records the readback: the image from <paramref name="layout"/> (last written at <paramref name="writtenAt"/>)
    /// to TRANSFER_SRC, copied to the readback buffer, made visible to the CPU.
    /// </summary>
    public void RecordReadback(CommandBuffer cmd, ImageLayout layout, PipelineStageFlags writtenAt, AccessFlags writeAccess)
    {
        Transition(cmd, layout, ImageLayout.TransferSrcOptimal, writtenAt, writeAccess, PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit);
        var region = new BufferImageCopy
        {
            ImageSubresource = new ImageSubresourceLayers(ImageAspectFlags.ColorBit, 0, 0, 1),
            ImageExtent = new Extent3D((uint)Width, (uint)Height, 1),
        };
        host.Vk.CmdCopyImageToBuffer(cmd, Image, ImageLayout.TransferSrcOptimal, Readback, 1, &region);
        var barrier = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.TransferWriteBit, DstAccessMask = AccessFlags.HostReadBit };
        host.Vk.CmdPipelineBarrier(cmd, PipelineStageFlags.TransferBit, PipelineStageFlags.HostBit, 0, 1, &barrier, 0, null, 0, null);
    }

    public void Dispose()
    {
        var vk = host.Vk;
        vk.DestroyImageView(host.Device, View, null);
        vk.DestroyImage(host.Device, Image, null);
        vk.FreeMemory(host.Device, imageMemory, null);
        vk.UnmapMemory(host.Device, readbackMemory);
        vk.DestroyBuffer(host.Device, Readback, null);
        vk.FreeMemory(host.Device, readbackMemory, null);
    }
}
