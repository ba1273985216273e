using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Descriptor sets for one owner (a compiled graph, a command list): allocated from pools that grow on
/// demand, all freed together when the owner is disposed and the GPU is done with them.
/// </summary>
internal sealed unsafe class DescriptorArena : GpuResource
{
    const uint SetsPerPool = 256;
    static long nextId;
    readonly ulong id = (ulong)Interlocked.Increment(ref nextId);
    readonly List<DescriptorPool> pools = new();
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
        };
        var info = new DescriptorPoolCreateInfo
        {
            SType = StructureType.DescriptorPoolCreateInfo,
            MaxSets = SetsPerPool,
            PoolSizeCount = 3,
            PPoolSizes = sizes,
        };
        DescriptorPool pool;
        VulkanException.Check(Context.Vk.CreateDescriptorPool(Context.Device, &info, null, &pool), "vkCreateDescriptorPool");
        Context.Objects.Created("VkDescriptorPool", pool.Handle, Describe());
        Context.Debug?.Name(ObjectType.DescriptorPool, pool.Handle, Describe());
        return pool;
    }

    protected override void DestroyNow()
    {
        foreach (var p in pools)
        {
            Context.Vk.DestroyDescriptorPool(Context.Device, p, null);
            Context.Objects.Destroyed("VkDescriptorPool", p.Handle);
        }
        pools.Clear();
    }
}
