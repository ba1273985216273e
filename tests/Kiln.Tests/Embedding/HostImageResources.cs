using Kiln.Embedding;
using Kiln.Tests.Vulkan;
using Silk.NET.Vulkan;
using VkBuffer = Silk.NET.Vulkan.Buffer;

namespace Kiln.Tests.Embedding;

/// <summary>
/// A storage image as a host engine makes one with raw Vulkan (device-local memory, a view, usage STORAGE |
/// TRANSFER_SRC | TRANSFER_DST), with a host-visible staging buffer of the same size for uploads and readbacks.
/// The host records its own layout transitions and copies around Kiln's work.
/// </summary>
internal sealed unsafe class HostImageResources : IDisposable
{
    readonly HostApp host;
    public readonly Image Image;
    public readonly ImageView View;
    public readonly VkBuffer Staging;
    readonly DeviceMemory imageMemory, stagingMemory;
    readonly void* mapped;
    public readonly int Width, Height;
    public readonly HostImageFormat Format;
    public readonly int BytesPerPixel;

    public HostImageResources(HostApp host, int width, int height, HostImageFormat format)
    {
        this.host = host;
        Width = width;
        Height = height;
        Format = format;
        var vk = host.Vk;
        var (vkFormat, bpp) = format switch
        {
            HostImageFormat.Rgba32Float => (Silk.NET.Vulkan.Format.R32G32B32A32Sfloat, 16),
            HostImageFormat.Rgba16Float => (Silk.NET.Vulkan.Format.R16G16B16A16Sfloat, 8),
            _ => (Silk.NET.Vulkan.Format.R8G8B8A8Unorm, 4),
        };
        BytesPerPixel = bpp;
        var info = new ImageCreateInfo
        {
            SType = StructureType.ImageCreateInfo,
            ImageType = ImageType.Type2D,
            Format = vkFormat,
            Extent = new Extent3D((uint)width, (uint)height, 1),
            MipLevels = 1,
            ArrayLayers = 1,
            Samples = SampleCountFlags.Count1Bit,
            Tiling = ImageTiling.Optimal,
            Usage = ImageUsageFlags.StorageBit | ImageUsageFlags.TransferSrcBit | ImageUsageFlags.TransferDstBit,
            InitialLayout = ImageLayout.Undefined,
        };
        Image image;
        Check(vk.CreateImage(host.Device, &info, null, &image), "vkCreateImage");
        Image = image;
        MemoryRequirements req;
        vk.GetImageMemoryRequirements(host.Device, Image, &req);
        imageMemory = Allocate(req, MemoryPropertyFlags.DeviceLocalBit);
        Check(vk.BindImageMemory(host.Device, Image, imageMemory, 0), "vkBindImageMemory");
        var viewInfo = new ImageViewCreateInfo
        {
            SType = StructureType.ImageViewCreateInfo,
            Image = Image,
            ViewType = ImageViewType.Type2D,
            Format = vkFormat,
            SubresourceRange = new ImageSubresourceRange(ImageAspectFlags.ColorBit, 0, 1, 0, 1),
        };
        ImageView view;
        Check(vk.CreateImageView(host.Device, &viewInfo, null, &view), "vkCreateImageView");
        View = view;

        var bufferInfo = new BufferCreateInfo
        {
            SType = StructureType.BufferCreateInfo,
            Size = (ulong)(width * height * bpp),
            Usage = BufferUsageFlags.TransferSrcBit | BufferUsageFlags.TransferDstBit,
        };
        VkBuffer buffer;
        Check(vk.CreateBuffer(host.Device, &bufferInfo, null, &buffer), "vkCreateBuffer");
        Staging = buffer;
        vk.GetBufferMemoryRequirements(host.Device, Staging, &req);
        stagingMemory = Allocate(req, MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit);
        Check(vk.BindBufferMemory(host.Device, Staging, stagingMemory, 0), "vkBindBufferMemory");
        void* p;
        Check(vk.MapMemory(host.Device, stagingMemory, 0, Vk.WholeSize, 0, &p), "vkMapMemory");
        mapped = p;
    }

    /// <summary>What Kiln is given.</summary>
    public HostImage Kiln => new((nint)View.Handle, Width, Height, Format);

    public Span<byte> StagingBytes => new(mapped, Width * Height * BytesPerPixel);

    DeviceMemory Allocate(MemoryRequirements req, MemoryPropertyFlags flags)
    {
        PhysicalDeviceMemoryProperties props;
        host.Vk.GetPhysicalDeviceMemoryProperties(host.PhysicalDevice, &props);
        uint type = uint.MaxValue;
        for (uint i = 0; i < props.MemoryTypeCount; i++)
            if ((req.MemoryTypeBits & (1u << (int)i)) != 0 && (props.MemoryTypes[(int)i].PropertyFlags & flags) == flags) { type = i; break; }
        if (type == uint.MaxValue) throw new InvalidOperationException($"host: no memory type with {flags}");
        var info = new MemoryAllocateInfo { SType = StructureType.MemoryAllocateInfo, AllocationSize = req.Size, MemoryTypeIndex = type };
        DeviceMemory m;
        Check(host.Vk.AllocateMemory(host.Device, &info, null, &m), "vkAllocateMemory");
        return m;
    }

    /// <summary>Host commands: staging -> image, then the image to GENERAL for compute shaders.</summary>
    public void RecordUpload(CommandBuffer cmd)
    {
        Transition(cmd, ImageLayout.Undefined, ImageLayout.TransferDstOptimal, PipelineStageFlags.TopOfPipeBit, 0, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit);
        var region = Region();
        host.Vk.CmdCopyBufferToImage(cmd, Staging, Image, ImageLayout.TransferDstOptimal, 1, &region);
        Transition(cmd, ImageLayout.TransferDstOptimal, ImageLayout.General, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit,
            PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit);
    }

    /// <summary>Host commands: the image (contents discarded) to GENERAL for compute shaders.</summary>
    public void RecordToGeneral(CommandBuffer cmd) =>
        Transition(cmd, ImageLayout.Undefined, ImageLayout.General, PipelineStageFlags.TopOfPipeBit, 0,
            PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit);

    /// <summary>Host commands: image (GENERAL, written by Kiln) to TRANSFER_SRC -> staging, then made visible to the CPU.</summary>
    public void RecordReadback(CommandBuffer cmd)
    {
        Transition(cmd, ImageLayout.General, ImageLayout.TransferSrcOptimal, PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit,
            PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit);
        var region = Region();
        host.Vk.CmdCopyImageToBuffer(cmd, Image, ImageLayout.TransferSrcOptimal, Staging, 1, &region);
        var barrier = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.TransferWriteBit, DstAccessMask = AccessFlags.HostReadBit };
        host.Vk.CmdPipelineBarrier(cmd, PipelineStageFlags.TransferBit, PipelineStageFlags.HostBit, 0, 1, &barrier, 0, null, 0, null);
    }

    BufferImageCopy Region() => new()
    {
        ImageSubresource = new ImageSubresourceLayers(ImageAspectFlags.ColorBit, 0, 0, 1),
        ImageExtent = new Extent3D((uint)Width, (uint)Height, 1),
    };

    void Transition(CommandBuffer cmd, ImageLayout from, ImageLayout to, PipelineStageFlags src, AccessFlags srcAccess, PipelineStageFlags dst, AccessFlags dstAccess) =>
        global::Kiln.HostSample.ImageBarrier.Record(host.Vk, cmd, Image, from, to, src, srcAccess, dst, dstAccess);

    public void Dispose()
    {
        var vk = host.Vk;
        vk.DestroyImageView(host.Device, View, null);
        vk.DestroyImage(host.Device, Image, null);
        vk.FreeMemory(host.Device, imageMemory, null);
        vk.UnmapMemory(host.Device, stagingMemory);
        vk.DestroyBuffer(host.Device, Staging, null);
        vk.FreeMemory(host.Device, stagingMemory, null);
    }

    static void Check(Result r, string call)
    {
        if (r != Result.Success) throw new InvalidOperationException($"host: {call} failed with {r}");
    }
}
