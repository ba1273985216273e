using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// A host-visible, persistently mapped buffer that recorded commands copy results into, read by the host
/// once the submission that wrote it has signalled (no extra submission, no wait on later work). One per
/// frame in flight in the real-time loop.
/// </summary>
internal sealed unsafe class HostReadback : GpuResource
{
    static long nextId;
    readonly ulong id = (ulong)Interlocked.Increment(ref nextId);
    readonly MemoryBlock block;
    readonly string what;

    public HostReadback(GpuContext context, ulong bytes, string what) : base(context)
    {
        this.what = what;
        uint type = context.Allocator.FindMemoryType(MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit | MemoryPropertyFlags.HostCachedBit,
                        MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit)
                    ?? throw new KilnException("The Vulkan device has no host-visible coherent memory for readback.");
        block = new MemoryBlock(context, Math.Max(bytes, 16), type, BufferUsageFlags.TransferDstBit, map: true, what);
        Size = bytes;
        context.Objects.Created("KilnHostReadback", id, what);
    }

    public ulong Size { get; }

    public override string Describe() => what;

    /// <summary>Records a copy of <paramref name="bytes"/> of <paramref name="src"/> to <paramref name="offset"/>. Precede with a ComputeToTransfer barrier.</summary>
    public void RecordCopy(CommandRecorder recorder, BufferAllocation src, ulong bytes, ulong offset, ulong srcOffset = 0)
    {
        if (offset + bytes > Size || srcOffset + bytes > src.Size)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"Readback copy of {bytes} bytes from {src.Describe()} into {what} at {offset} runs past an end.");
        recorder.Use(src);
        recorder.Use(this);
        var region = new BufferCopy(src.Offset + srcOffset, offset, bytes);
        Context.Vk.CmdCopyBuffer(recorder.Cmd, src.Block.Buffer, block.Buffer, 1, &region);
    }

    /// <summary>Makes the copies recorded so far visible to the host once the submission's fence has signalled.</summary>
    public void RecordHostBarrier(CommandRecorder recorder)
    {
        var b = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.TransferWriteBit, DstAccessMask = AccessFlags.HostReadBit };
        Context.Vk.CmdPipelineBarrier(recorder.Cmd, PipelineStageFlags.TransferBit, PipelineStageFlags.HostBit, 0, 1, &b, 0, null, 0, null);
    }

    /// <summary>The mapped bytes: read only after the submission that wrote them has completed.</summary>
    public ReadOnlySpan<byte> Bytes => new(block.Mapped, (int)Size);

    protected override void DestroyNow()
    {
        block.Destroy();
        Context.Objects.Destroyed("KilnHostReadback", id);
    }
}
