using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>A host-visible buffer of one asynchronous upload or download, alive until the copy's submission completes (and, for a download, until its reader disposes it).</summary>
internal sealed class StagingBuffer : GpuResource
{
    public readonly MemoryBlock Block;

    public StagingBuffer(GpuContext context, ulong bytes, uint memoryType) : base(context)
    {
        Block = new MemoryBlock(context, bytes, memoryType, BufferUsageFlags.TransferSrcBit | BufferUsageFlags.TransferDstBit, map: true, "Kiln async staging buffer");
    }

    public override string Describe() => $"staging buffer ({Block.Size} bytes)";

    protected override void DestroyNow() => Block.Destroy();
}
