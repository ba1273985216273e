using Silk.NET.Vulkan;
using Buffer = Silk.NET.Vulkan.Buffer;

namespace Kiln.Vulkan;

/// <summary>
/// One vkAllocateMemory of device-local memory with one VkBuffer spanning it; tensors are ranges of it.
/// Free ranges are kept sorted by offset and merged with their neighbours when freed.
/// </summary>
internal sealed unsafe class MemoryBlock
{
    readonly GpuContext context;
    readonly SortedDictionary<ulong, ulong> free = new(); // offset -> size
    public readonly DeviceMemory Memory;
    public readonly Buffer Buffer;
    public readonly ulong Size;
    public readonly void* Mapped;
    // Blocks belong to the context (allocator or staging), so they are not in the leak registry: the ranges carved from them are.
    public ulong UsedBytes { get; private set; }

    public MemoryBlock(GpuContext context, ulong size, uint memoryType, BufferUsageFlags usage, bool map, string what)
    {
        this.context = context;
        var vk = context.Vk;
        Size = size;
        var bufInfo = new BufferCreateInfo
        {
            SType = StructureType.BufferCreateInfo,
            Size = size,
            Usage = usage,
            SharingMode = SharingMode.Exclusive,
        };
        Buffer buffer;
        VulkanException.Check(vk.CreateBuffer(context.Device, &bufInfo, null, &buffer), "vkCreateBuffer");
        context.Debug?.Name(ObjectType.Buffer, buffer.Handle, $"memory block of {size} bytes");
        MemoryRequirements req;
        vk.GetBufferMemoryRequirements(context.Device, buffer, &req);
        var alloc = new MemoryAllocateInfo
        {
            SType = StructureType.MemoryAllocateInfo,
            AllocationSize = req.Size,
            MemoryTypeIndex = memoryType,
        };
        DeviceMemory memory;
        var r = vk.AllocateMemory(context.Device, &alloc, null, &memory);
        if (r != Result.Success)
        {
            vk.DestroyBuffer(context.Device, buffer, null);
            if (r is Result.ErrorOutOfDeviceMemory or Result.ErrorOutOfHostMemory)
                throw new GpuOutOfMemoryException(what, (long)size, context.Allocator.DeviceFreeBytes(), "device's memory");
            VulkanException.Check(r, "vkAllocateMemory");
        }
        VulkanException.Check(vk.BindBufferMemory(context.Device, buffer, memory, 0), "vkBindBufferMemory");
        if (map)
        {
            void* p;
            VulkanException.Check(vk.MapMemory(context.Device, memory, 0, Vk.WholeSize, 0, &p), "vkMapMemory");
            Mapped = p;
        }
        Memory = memory;
        Buffer = buffer;
        free[0] = size;
    }

    /// <summary>First fit; returns false when no free range is large enough.</summary>
    public bool TryAllocate(ulong size, ulong alignment, out ulong offset)
    {
        foreach (var (start, length) in free)
        {
            ulong aligned = (start + alignment - 1) / alignment * alignment;
            ulong pad = aligned - start;
            if (length < pad + size) continue;
            free.Remove(start);
            if (pad > 0) free[start] = pad;
            ulong tail = length - pad - size;
            if (tail > 0) free[aligned + size] = tail;
            UsedBytes += size;
            offset = aligned;
            return true;
        }
        offset = 0;
        return false;
    }

    public void Free(ulong offset, ulong size)
    {
        UsedBytes -= size;
        ulong start = offset, length = size;
        // Merge with the free range that ends where this one starts, and the one that starts where it ends.
        var before = free.Where(kv => kv.Key + kv.Value == start).Select(kv => (ulong?)kv.Key).FirstOrDefault();
        if (before is { } b)
        {
            length += start - b;
            start = b;
            free.Remove(b);
        }
        if (free.TryGetValue(offset + size, out var afterLength))
        {
            free.Remove(offset + size);
            length += afterLength;
        }
        free[start] = length;
    }

    public bool IsEmpty => UsedBytes == 0;

    public void Destroy()
    {
        var vk = context.Vk;
        if (Mapped != null) vk.UnmapMemory(context.Device, Memory);
        vk.DestroyBuffer(context.Device, Buffer, null);
        vk.FreeMemory(context.Device, Memory, null);
    }
}
