using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Descriptor sets for one owner (a compiled graph, a command list), and the buffer views its texel-buffer bindings
/// need: allocated from pools that grow on demand, all freed together when the owner is disposed and the GPU is done
/// with them.
/// </summary>
internal sealed unsafe class DescriptorArena : GpuResource
{
    const uint SetsPerPool = 256;
    static long nextId;
    readonly ulong id = (ulong)Interlocked.Increment(ref nextId);
    readonly List<DescriptorPool> pools = new();
    readonly List<BufferView> views = new();
    readonly string owner;

    public DescriptorArena(GpuContext context, string owner) : base(context) => this.owner = owner;

    public override string Describe() => $"descriptor sets of {owner}";

    public DescriptorSet Allocate(DescriptorSetLayout layout)
    {
        ThrowIfDisposed();
        if (pools.Count > 0 && TryAllocate(pools[^1], layout, out var set)) return set;
        pools.Add(NewPool());
        if (!TryAllocate(pools[^1], layout, out set))
            throw new KilnException("A fresh descriptor pool could not allocate a set.");
        return set;
    }

    bool TryAllocate(DescriptorPool pool, DescriptorSetLayout layout, out DescriptorSet set)
    {
        var info = new DescriptorSetAllocateInfo
        {
            SType = StructureType.DescriptorSetAllocateInfo,
            DescriptorPool = pool,
            DescriptorSetCount = 1,
            PSetLayouts = &layout,
        };
        DescriptorSet s;
        var r = Context.Vk.AllocateDescriptorSets(Context.Device, &info, &s);
        set = s;
        if (r is Result.ErrorOutOfPoolMemory or Result.ErrorFragmentedPool) return false;
        VulkanException.Check(r, "vkAllocateDescriptorSets");
        return true;
    }

    DescriptorPool NewPool()
    {
        var sizes = stackalloc DescriptorPoolSize[]
        {
            new(DescriptorType.StorageBuffer, SetsPerPool * 8),
            new(DescriptorType.UniformBuffer, SetsPerPool),
            new(DescriptorType.StorageImage, SetsPerPool * 2),
            new(DescriptorType.UniformTexelBuffer, SetsPerPool * 4),
        };
        var info = new DescriptorPoolCreateInfo
        {
            SType = StructureType.DescriptorPoolCreateInfo,
            MaxSets = SetsPerPool,
            PoolSizeCount = 4,
            PPoolSizes = sizes,
        };
        DescriptorPool pool;
        VulkanException.Check(Context.Vk.CreateDescriptorPool(Context.Device, &info, null, &pool), "vkCreateDescriptorPool");
        Context.Objects.Created("VkDescriptorPool", pool.Handle, Describe());
        Context.Debug?.Name(ObjectType.DescriptorPool, pool.Handle, Describe());
        return pool;
    }

    /// <summary>
    /// An R32_SFLOAT (R16_SFLOAT when <paramref name="half"/>) view of <paramref name="range"/> bytes of a buffer at
    /// <paramref name="offset"/>, destroyed with the arena.
    /// </summary>
    public BufferView FloatView(Silk.NET.Vulkan.Buffer buffer, ulong offset, ulong range, bool half, string what)
    {
        ThrowIfDisposed();
        var info = Context.Info;
        if (offset % info.MinTexelBufferOffsetAlignment != 0)
            throw new KilnException($"{what}: a texel-buffer view must start at a multiple of {info.MinTexelBufferOffsetAlignment} bytes, not {offset}.");
        uint size = half ? 2u : 4u;
        if (range % size != 0 || range / size > info.MaxTexelBufferElements)
            throw new KilnException($"{what}: {range} bytes is not a whole number of {(half ? "halves" : "floats")} within the device's {info.MaxTexelBufferElements} texel-buffer elements.");
        var create = new BufferViewCreateInfo
        {
            SType = StructureType.BufferViewCreateInfo,
            Buffer = buffer,
            Format = half ? Format.R16Sfloat : Format.R32Sfloat,
            Offset = offset,
            Range = range,
        };
        BufferView view;
        VulkanException.Check(Context.Vk.CreateBufferView(Context.Device, &create, null, &view), "vkCreateBufferView");
        Context.Objects.Created("VkBufferView", view.Handle, what);
        views.Add(view);
        return view;
    }

    protected override void DestroyNow()
    {
        foreach (var v in views)
        {
            Context.Vk.DestroyBufferView(Context.Device, v, null);
            Context.Objects.Destroyed("VkBufferView", v.Handle);
        }
        views.Clear();
        foreach (var p in pools)
        {
            Context.Vk.DestroyDescriptorPool(Context.Device, p, null);
            Context.Objects.Destroyed("VkDescriptorPool", p.Handle);
        }
        pools.Clear();
    }
}
