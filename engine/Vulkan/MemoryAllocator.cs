using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Carves buffers out of large device-local blocks (never one vkAllocateMemory per tensor), enforces Kiln's
/// own memory limit, and reports the device's budget. Staging memory for uploads and downloads lives in
/// <see cref="Transfer"/>.
/// </summary>
internal sealed unsafe class MemoryAllocator : IDisposable
{
    const BufferUsageFlags Usage = BufferUsageFlags.StorageBufferBit | BufferUsageFlags.UniformBufferBit | BufferUsageFlags.UniformTexelBufferBit |
                                   BufferUsageFlags.TransferSrcBit | BufferUsageFlags.TransferDstBit;
    readonly GpuContext context;
    readonly List<MemoryBlock> blocks = new();
    readonly object gate = new();
    readonly long? limit;
    readonly ulong blockBytes;
    readonly ulong alignment;
    readonly uint deviceType;
    long allocated;

    public MemoryAllocator(GpuContext context, long? limitBytes, long blockBytes)
    {
        this.context = context;
        limit = limitBytes;
        this.blockBytes = (ulong)Math.Max(1 << 20, blockBytes);
        // Storage-buffer offsets must honour the device's alignment; 256 also keeps vec4 loads aligned.
        alignment = Math.Max(context.Info.MinStorageBufferOffsetAlignment, 256);
        deviceType = FindMemoryType(MemoryPropertyFlags.DeviceLocalBit, MemoryPropertyFlags.None)
            ?? throw new KilnException("The Vulkan device has no memory type Kiln can use for buffers.");
    }

    public long AllocatedBytes => Interlocked.Read(ref allocated);

    public int BlockCount
    {
        get { lock (gate) return blocks.Count; }
    }

    internal uint? FindMemoryType(MemoryPropertyFlags preferred, MemoryPropertyFlags required)
    {
        PhysicalDeviceMemoryProperties props;
        context.Vk.GetPhysicalDeviceMemoryProperties(context.PhysicalDevice, &props);
        // Ask a throwaway buffer which memory types it may live in.
        var info = new BufferCreateInfo { SType = StructureType.BufferCreateInfo, Size = 256, Usage = Usage };
        Silk.NET.Vulkan.Buffer probe;
        VulkanException.Check(context.Vk.CreateBuffer(context.Device, &info, null, &probe), "vkCreateBuffer");
        MemoryRequirements req;
        context.Vk.GetBufferMemoryRequirements(context.Device, probe, &req);
        context.Vk.DestroyBuffer(context.Device, probe, null);
        uint? fallback = null;
        for (uint i = 0; i < props.MemoryTypeCount; i++)
        {
            if ((req.MemoryTypeBits & (1u << (int)i)) == 0) continue;
            var flags = props.MemoryTypes[(int)i].PropertyFlags;
            if ((flags & required) != required) continue;
            if ((flags & preferred) == preferred) return i;
            fallback ??= i;
        }
        return fallback;
    }

    public BufferAllocation Allocate(long bytes, string what)
    {
        context.ThrowIfDisposed();
        if (bytes <= 0) throw new ArgumentOutOfRangeException(nameof(bytes), $"{what}: a buffer needs a positive size, got {bytes} bytes.");
        ulong size = ((ulong)bytes + 3) & ~3UL;
        if (size > context.Info.MaxStorageBufferRange)
            throw new GpuOutOfMemoryException(what, bytes, (long)context.Info.MaxStorageBufferRange, $"device's largest storage buffer ({context.Info.MaxStorageBufferRange} bytes)");
        lock (gate)
        {
            if (limit is { } l && allocated + (long)size > l)
                throw new GpuOutOfMemoryException(what, (long)size, l - allocated, $"Kiln memory limit of {l} bytes");
            foreach (var b in blocks)
                if (b.TryAllocate(size, alignment, out var off)) return Made(b, off, size, what);
            ulong blockSize = Math.Max(blockBytes, (size + alignment - 1) / alignment * alignment);
            if (limit is { } l2) blockSize = Math.Min(blockSize, Math.Max((ulong)(l2 - allocated), size));
            var block = new MemoryBlock(context, blockSize, deviceType, Usage, map: false, $"Kiln memory block {blocks.Count}");
            blocks.Add(block);
            if (!block.TryAllocate(size, alignment, out var offset))
                throw new InvalidOperationException("A fresh memory block could not hold the allocation it was made for.");
            return Made(block, offset, size, what);
        }
    }

    BufferAllocation Made(MemoryBlock block, ulong offset, ulong size, string what)
    {
        allocated += (long)size;
        return new BufferAllocation(context, block, offset, size, what);
    }

    public void Free(BufferAllocation a)
    {
        lock (gate)
        {
            a.Block.Free(a.Offset, a.Size);
            allocated -= (long)a.Size;
            // Keep the first block for reuse; give back other blocks as soon as they empty.
            if (a.Block.IsEmpty && blocks.Count > 1 && blocks[0] != a.Block)
            {
                blocks.Remove(a.Block);
                a.Block.Destroy();
            }
        }
    }

    /// <summary>Free bytes on the device-local heap: VK_EXT_memory_budget when present, else the heap size less Kiln's blocks.</summary>
    public long DeviceFreeBytes()
    {
        PhysicalDeviceMemoryProperties props;
        context.Vk.GetPhysicalDeviceMemoryProperties(context.PhysicalDevice, &props);
        int heap = (int)props.MemoryTypes[(int)deviceType].HeapIndex;
        if (context.Info.MemoryBudget)
        {
            var budget = new PhysicalDeviceMemoryBudgetPropertiesEXT { SType = StructureType.PhysicalDeviceMemoryBudgetPropertiesExt };
            var p2 = new PhysicalDeviceMemoryProperties2 { SType = StructureType.PhysicalDeviceMemoryProperties2, PNext = &budget };
            context.Vk.GetPhysicalDeviceMemoryProperties2(context.PhysicalDevice, &p2);
            return (long)(budget.HeapBudget[heap] - Math.Min(budget.HeapBudget[heap], budget.HeapUsage[heap]));
        }
        ulong used;
        lock (gate) used = (ulong)blocks.Sum(b => (long)b.Size);
        return (long)(props.MemoryHeaps[heap].Size - Math.Min(props.MemoryHeaps[heap].Size, used));
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var b in blocks) b.Destroy();
            blocks.Clear();
        }
    }
}
