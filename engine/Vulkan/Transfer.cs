using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Uploads and downloads through a host-visible staging buffer (grown on demand, up to 64 MiB; larger
/// transfers go in chunks). Each transfer is its own submission, waited on before returning, with barriers
/// that order it against Kiln's shader work submitted before and after on the same queue.
/// </summary>
internal sealed unsafe class Transfer : IDisposable
{
    const ulong MaxStaging = 64UL << 20;
    readonly GpuContext context;
    readonly object gate = new();
    readonly uint stagingType;
    MemoryBlock? staging;
    CommandPool pool;

    public Transfer(GpuContext context)
    {
        this.context = context;
        stagingType = context.Allocator.FindMemoryType(MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit | MemoryPropertyFlags.HostCachedBit,
                          MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit)
                      ?? throw new KilnException("The Vulkan device has no host-visible coherent memory for staging.");
        var info = new CommandPoolCreateInfo
        {
            SType = StructureType.CommandPoolCreateInfo,
            QueueFamilyIndex = context.QueueFamily,
            Flags = CommandPoolCreateFlags.ResetCommandBufferBit | CommandPoolCreateFlags.TransientBit,
        };
        CommandPool p;
        VulkanException.Check(context.Vk.CreateCommandPool(context.Device, &info, null, &p), "vkCreateCommandPool");
        pool = p;
    }

    MemoryBlock Staging(ulong bytes)
    {
        ulong want = Math.Min(MaxStaging, Math.Max(bytes, 4UL << 20));
        if (staging != null && staging.Size >= want) return staging;
        staging?.Destroy();
        staging = new MemoryBlock(context, want, stagingType, BufferUsageFlags.TransferSrcBit | BufferUsageFlags.TransferDstBit, map: true, "Kiln staging buffer");
        return staging;
    }

    public void Upload(BufferAllocation dst, ReadOnlySpan<byte> data, ulong dstOffset = 0)
    {
        if (dstOffset + (ulong)data.Length > dst.Size)
            throw new ArgumentOutOfRangeException(nameof(data), $"Upload of {data.Length} bytes at offset {dstOffset} runs past the end of {dst.Describe()} ({dst.Size} bytes).");
        lock (gate)
        {
            var s = Staging((ulong)data.Length);
            for (int done = 0; done < data.Length;)
            {
                int n = (int)Math.Min((ulong)(data.Length - done), s.Size);
                data.Slice(done, n).CopyTo(new Span<byte>(s.Mapped, n));
                var region = new BufferCopy(0, dst.Offset + dstOffset + (ulong)done, (ulong)n);
                Run(dst, cmd =>
                {
                    Barrier(cmd, PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit | AccessFlags.TransferWriteBit | AccessFlags.TransferReadBit,
                        PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit);
                    var r = region;
                    context.Vk.CmdCopyBuffer(cmd, s.Buffer, dst.Block.Buffer, 1, &r);
                    Barrier(cmd, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit,
                        PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit | AccessFlags.TransferReadBit | AccessFlags.TransferWriteBit);
                });
                done += n;
            }
        }
    }

    public void Download(BufferAllocation src, Span<byte> data, ulong srcOffset = 0)
    {
        if (srcOffset + (ulong)data.Length > src.Size)
            throw new ArgumentOutOfRangeException(nameof(data), $"Download of {data.Length} bytes at offset {srcOffset} runs past the end of {src.Describe()} ({src.Size} bytes).");
        lock (gate)
        {
            var s = Staging((ulong)data.Length);
            for (int done = 0; done < data.Length;)
            {
                int n = (int)Math.Min((ulong)(data.Length - done), s.Size);
                var region = new BufferCopy(src.Offset + srcOffset + (ulong)done, 0, (ulong)n);
                Run(src, cmd =>
                {
                    Barrier(cmd, PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderWriteBit | AccessFlags.TransferWriteBit,
                        PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit);
                    var r = region;
                    context.Vk.CmdCopyBuffer(cmd, src.Block.Buffer, s.Buffer, 1, &r);
                    Barrier(cmd, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit, PipelineStageFlags.HostBit, AccessFlags.HostReadBit);
                });
                new ReadOnlySpan<byte>(s.Mapped, n).CopyTo(data.Slice(done, n));
                done += n;
            }
        }
    }

    /// <summary>
    /// Starts an upload and returns without waiting: the data goes into a staging buffer of its own, which the
    /// returned submission keeps alive until the copy is done. The copy runs after Kiln's work already
    /// submitted to the queue and before work submitted later, so a host can prepare the next batch while the
    /// current step runs.
    /// </summary>
    public Submission UploadAsync(BufferAllocation dst, ReadOnlySpan<byte> data, ulong dstOffset = 0)
    {
        if (dstOffset + (ulong)data.Length > dst.Size)
            throw new ArgumentOutOfRangeException(nameof(data), $"Upload of {data.Length} bytes at offset {dstOffset} runs past the end of {dst.Describe()} ({dst.Size} bytes).");
        var staging = new StagingBuffer(context, (ulong)Math.Max(4, data.Length), stagingType);
        try
        {
            data.CopyTo(new Span<byte>(staging.Block.Mapped, data.Length));
            var cmd = Begin();
            Barrier(cmd, PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit | AccessFlags.TransferWriteBit | AccessFlags.TransferReadBit,
                PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit);
            var region = new BufferCopy(0, dst.Offset + dstOffset, (ulong)data.Length);
            context.Vk.CmdCopyBuffer(cmd, staging.Block.Buffer, dst.Block.Buffer, 1, &region);
            Barrier(cmd, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit,
                PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderReadBit | AccessFlags.ShaderWriteBit | AccessFlags.TransferReadBit | AccessFlags.TransferWriteBit);
            VulkanException.Check(context.Vk.EndCommandBuffer(cmd), "vkEndCommandBuffer");
            var submission = SubmitAndFree(cmd, new GpuResource[] { dst, staging });
            staging.Dispose(); // destroyed once the submission releases it
            return submission;
        }
        catch
        {
            staging.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a download and returns without waiting: the copy into a staging buffer of its own runs after Kiln's
    /// work already submitted to the queue. The caller owns the returned buffer (read it once the submission has
    /// completed, then dispose it; it is destroyed when both the caller and the submission have released it).
    /// </summary>
    public (Submission Submission, StagingBuffer Staging) DownloadAsync(BufferAllocation src, ulong bytes, ulong srcOffset = 0)
    {
        if (srcOffset + bytes > src.Size)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"Download of {bytes} bytes at offset {srcOffset} runs past the end of {src.Describe()} ({src.Size} bytes).");
        var staging = new StagingBuffer(context, Math.Max(4, bytes), stagingType);
        try
        {
            var cmd = Begin();
            Barrier(cmd, PipelineStageFlags.ComputeShaderBit | PipelineStageFlags.TransferBit, AccessFlags.ShaderWriteBit | AccessFlags.TransferWriteBit,
                PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit);
            var region = new BufferCopy(src.Offset + srcOffset, 0, bytes);
            context.Vk.CmdCopyBuffer(cmd, src.Block.Buffer, staging.Block.Buffer, 1, &region);
            Barrier(cmd, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit, PipelineStageFlags.HostBit, AccessFlags.HostReadBit);
            VulkanException.Check(context.Vk.EndCommandBuffer(cmd), "vkEndCommandBuffer");
            return (SubmitAndFree(cmd, new GpuResource[] { src, staging }), staging);
        }
        catch
        {
            staging.Dispose();
            throw;
        }
    }

    /// <summary>A one-time command buffer from the pool, begun.</summary>
    CommandBuffer Begin()
    {
        lock (gate)
        {
            var alloc = new CommandBufferAllocateInfo
            {
                SType = StructureType.CommandBufferAllocateInfo,
                CommandPool = pool,
                Level = CommandBufferLevel.Primary,
                CommandBufferCount = 1,
            };
            CommandBuffer cmd;
            VulkanException.Check(context.Vk.AllocateCommandBuffers(context.Device, &alloc, &cmd), "vkAllocateCommandBuffers");
            var begin = new CommandBufferBeginInfo { SType = StructureType.CommandBufferBeginInfo, Flags = CommandBufferUsageFlags.OneTimeSubmitBit };
            VulkanException.Check(context.Vk.BeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
            return cmd;
        }
    }

    /// <summary>Submits <paramref name="cmd"/> without waiting; the command buffer returns to the pool when it completes.</summary>
    Submission SubmitAndFree(CommandBuffer cmd, GpuResource[] retained)
    {
        var c = cmd;
        return context.Submissions.Submit(cmd, retained, () =>
        {
            lock (gate)
            {
                var done = c;
                if (pool.Handle != 0) context.Vk.FreeCommandBuffers(context.Device, pool, 1, &done);
            }
        });
    }

    void Barrier(CommandBuffer cmd, PipelineStageFlags src, AccessFlags srcAccess, PipelineStageFlags dst, AccessFlags dstAccess)
    {
        var b = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = srcAccess, DstAccessMask = dstAccess };
        context.Vk.CmdPipelineBarrier(cmd, src, dst, 0, 1, &b, 0, null, 0, null);
    }

    void Run(BufferAllocation target, Action<CommandBuffer> record)
    {
        var cmd = Begin();
        try
        {
            record(cmd);
            VulkanException.Check(context.Vk.EndCommandBuffer(cmd), "vkEndCommandBuffer");
            context.Submissions.Submit(cmd, new GpuResource[] { target }).Wait();
        }
        finally
        {
            context.Vk.FreeCommandBuffers(context.Device, pool, 1, &cmd);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            staging?.Destroy();
            staging = null;
            if (pool.Handle != 0) context.Vk.DestroyCommandPool(context.Device, pool, null);
            pool = default;
        }
    }
}
