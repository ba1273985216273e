using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>The kinds of execution and memory dependency Kiln records between its commands.</summary>
internal enum BarrierKind
{
    /// <summary>Shader writes before, shader reads and writes after.</summary>
    ComputeToCompute,
    /// <summary>Transfer writes (copies, fills, uploads) before, shader access after.</summary>
    TransferToCompute,
    /// <summary>Shader writes before, transfer reads (downloads, copies) after.</summary>
    ComputeToTransfer,
    /// <summary>Everything before (shaders, transfers, the host's own earlier work), everything of Kiln's after.</summary>
    Full,
}

/// <summary>
/// Records Kiln's commands into one VkCommandBuffer, whoever owns it (a <see cref="CommandList"/> of Kiln's
/// or a host's command buffer), and remembers which resources the recorded commands use so that the owner
/// can keep them alive until the GPU is done.
/// </summary>
internal sealed unsafe class CommandRecorder
{
    readonly GpuContext context;
    readonly HashSet<GpuResource> uses = new();
    readonly GpuTimer? timer;
    public readonly CommandBuffer Cmd;
    public readonly DescriptorArena Arena;
    public int DispatchCount { get; private set; }
    public int BarrierCount { get; private set; }

    public CommandRecorder(GpuContext context, CommandBuffer cmd, DescriptorArena arena, GpuTimer? timer)
    {
        this.context = context;
        Cmd = cmd;
        Arena = arena;
        this.timer = timer;
        uses.Add(arena);
    }

    public IReadOnlyCollection<GpuResource> Uses => uses;

    public void Use(GpuResource r)
    {
        r.ThrowIfDisposed();
        uses.Add(r);
    }

    /// <summary>Prepares a dispatch (descriptors written once) from this recorder's own arena and records it.</summary>
    public void Dispatch(KernelSpec spec, ReadOnlySpan<Binding> bindings, ReadOnlySpan<byte> push, uint gx, uint gy = 1, uint gz = 1, string? label = null)
    {
        var kernel = context.Pipelines.Get(spec);
        Record(new DispatchCall(context, Arena, kernel, bindings, push, gx, gy, gz, label ?? spec.Module));
    }

    public void Record(DispatchCall call)
    {
        foreach (var b in call.Buffers) Use(b);
        var vk = context.Vk;
        context.Debug?.BeginLabel(Cmd, call.Label);
        timer?.Begin(Cmd, call.Label);
        vk.CmdBindPipeline(Cmd, PipelineBindPoint.Compute, call.Kernel.Pipeline);
        var set = call.Set;
        vk.CmdBindDescriptorSets(Cmd, PipelineBindPoint.Compute, call.Kernel.Layout, 0, 1, &set, 0, null);
        if (call.Push.Length > 0)
            fixed (byte* p = call.Push)
                vk.CmdPushConstants(Cmd, call.Kernel.Layout, ShaderStageFlags.ComputeBit, 0, (uint)call.Push.Length, p);
        vk.CmdDispatch(Cmd, call.GroupsX, call.GroupsY, call.GroupsZ);
        timer?.End(Cmd);
        context.Debug?.EndLabel(Cmd);
        DispatchCount++;
    }

    /// <summary>One global memory barrier. Kiln batches these by dependency level rather than after every dispatch.</summary>
    public void Barrier(BarrierKind kind)
    {
        (PipelineStageFlags src, AccessFlags srcAccess, PipelineStageFlags dst, AccessFlags dstAccess) = kind switch
        {
            BarrierKind.ComputeToCompute => (PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit,
                PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit),
            BarrierKind.TransferToCompute => (PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit,
                PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit,
                AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit | AccessFlags.TransferReadBit | AccessFlags.TransferWriteBit),
            BarrierKind.ComputeToTransfer => (PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit | AccessFlags.ShaderReadBit,
                PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit | AccessFlags.TransferWriteBit),
            _ => (PipelineStageFlags.AllCommandsBit, AccessFlags.MemoryWriteBit,
                PipelineStageFlags.AllCommandsBit, AccessFlags.MemoryReadBit | AccessFlags.MemoryWriteBit),
        };
        var barrier = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = srcAccess, DstAccessMask = dstAccess };
        context.Vk.CmdPipelineBarrier(Cmd, src, dst, 0, 1, &barrier, 0, null, 0, null);
        BarrierCount++;
    }

    /// <summary>Fills a buffer range with a 32-bit pattern (0 clears it). Follow with a TransferToCompute barrier.</summary>
    public void Fill(BufferAllocation buffer, uint value, ulong offset = 0, ulong? size = null)
    {
        Use(buffer);
        context.Vk.CmdFillBuffer(Cmd, buffer.Block.Buffer, buffer.Offset + offset, size ?? buffer.Size - offset, value);
    }

    public void Copy(BufferAllocation src, BufferAllocation dst, ulong bytes, ulong srcOffset = 0, ulong dstOffset = 0)
    {
        if (srcOffset + bytes > src.Size || dstOffset + bytes > dst.Size)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"Copy of {bytes} bytes from {src.Describe()} to {dst.Describe()} runs past an end.");
        Use(src);
        Use(dst);
        var region = new BufferCopy(src.Offset + srcOffset, dst.Offset + dstOffset, bytes);
        context.Vk.CmdCopyBuffer(Cmd, src.Block.Buffer, dst.Block.Buffer, 1, &region);
    }

    /// <summary>Copies from a buffer Kiln does not own (a host's) into one of Kiln's.</summary>
    public void CopyFromForeign(Silk.NET.Vulkan.Buffer src, ulong srcOffset, BufferAllocation dst, ulong bytes)
    {
        if (bytes > dst.Size) throw new ArgumentOutOfRangeException(nameof(bytes), $"Copy of {bytes} bytes into {dst.Describe()} runs past its end.");
        Use(dst);
        var region = new BufferCopy(srcOffset, dst.Offset, bytes);
        context.Vk.CmdCopyBuffer(Cmd, src, dst.Block.Buffer, 1, &region);
    }

    /// <summary>Copies from one of Kiln's buffers into a buffer Kiln does not own (a host's).</summary>
    public void CopyToForeign(BufferAllocation src, Silk.NET.Vulkan.Buffer dst, ulong dstOffset, ulong bytes)
    {
        if (bytes > src.Size) throw new ArgumentOutOfRangeException(nameof(bytes), $"Copy of {bytes} bytes from {src.Describe()} runs past its end.");
        Use(src);
        var region = new BufferCopy(src.Offset, dstOffset, bytes);
        context.Vk.CmdCopyBuffer(Cmd, src.Block.Buffer, dst, 1, &region);
    }
}
