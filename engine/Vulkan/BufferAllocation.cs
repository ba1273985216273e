namespace Kiln.Vulkan;

/// <summary>A range of a <see cref="MemoryBlock"/>: the storage of one tensor or one internal buffer.</summary>
internal sealed class BufferAllocation : GpuResource
{
    static long nextId;
    readonly ulong id = (ulong)Interlocked.Increment(ref nextId);
    readonly string what;
    public readonly MemoryBlock Block;
    public readonly ulong Offset;
    public readonly ulong Size;

    public BufferAllocation(GpuContext context, MemoryBlock block, ulong offset, ulong size, string what) : base(context)
    {
        Block = block;
        Offset = offset;
        Size = size;
        this.what = what;
        context.Objects.Created("KilnBufferRange", id, what);
    }

    public override string Describe() => what;

    protected override void DestroyNow()
    {
        Context.Objects.Destroyed("KilnBufferRange", id);
        Context.Allocator.Free(this);
    }
}
