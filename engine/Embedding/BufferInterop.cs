using Kiln.Vulkan;

namespace Kiln.Embedding;

/// <summary>
/// Copies between a host's VkBuffer and a tensor on the GPU (vkCmdCopyBuffer), recorded into any
/// <see cref="CommandTarget"/>, with the barriers around it: earlier shader work before, later shader or
/// transfer work after. The host's own accesses are ordered by the full barriers that open and close a
/// <see cref="HostCommandBuffer"/>.
/// </summary>
public static class BufferInterop
{
    /// <summary>Copies the host buffer range (exactly the tensor's size) into <paramref name="tensor"/>.</summary>
    public static void BufferToTensor(CommandTarget target, HostBuffer source, Tensor tensor)
    {
        Check(target, source, tensor, "BufferToTensor");
        var r = target.Recorder;
        r.Barrier(BarrierKind.ComputeToTransfer);
        r.CopyFromForeign(new Silk.NET.Vulkan.Buffer((ulong)source.Buffer), source.Offset, tensor.Storage, source.Size);
        r.Barrier(BarrierKind.TransferToCompute);
    }

    /// <summary>Copies <paramref name="tensor"/> into the host buffer range (exactly the tensor's size).</summary>
    public static void TensorToBuffer(CommandTarget target, Tensor tensor, HostBuffer destination)
    {
        Check(target, destination, tensor, "TensorToBuffer");
        var r = target.Recorder;
        r.Barrier(BarrierKind.ComputeToTransfer);
        r.CopyToForeign(tensor.Storage, new Silk.NET.Vulkan.Buffer((ulong)destination.Buffer), destination.Offset, destination.Size);
        r.Barrier(BarrierKind.TransferToCompute);
    }

    static void Check(CommandTarget target, HostBuffer buffer, Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(tensor);
        if (buffer.Buffer == 0) throw new ArgumentException($"{what}: the host buffer handle is null.");
        if (tensor.Context != target.Context) throw new ArgumentException($"{what}: {tensor} belongs to another GpuContext than the command target.");
        if (buffer.Size != (ulong)tensor.SizeInBytes)
            throw new ArgumentException($"{what}: the host buffer range is {buffer.Size} bytes, {tensor} is {tensor.SizeInBytes}.");
    }
}
