using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// One dispatch made ready once (pipeline, descriptor set written, push constants, group counts) so that it
/// can be recorded into any number of command buffers without touching descriptors again.
/// </summary>
internal sealed unsafe class DispatchCall
{
    public readonly ComputeKernel Kernel;
    public readonly DescriptorSet Set;
    public readonly byte[] Push;
    public readonly uint GroupsX, GroupsY, GroupsZ;
    public readonly BufferAllocation[] Buffers;
    public readonly string Label;

    public DispatchCall(GpuContext context, DescriptorArena arena, ComputeKernel kernel, ReadOnlySpan<Binding> bindings,
        ReadOnlySpan<byte> push, uint gx, uint gy, uint gz, string label)
    {
        var spec = kernel.Spec;
        if (bindings.Length != spec.Bindings.Length)
            throw new ArgumentException($"{label}: kernel {spec.Module} has {spec.Bindings.Length} bindings, {bindings.Length} given.");
        if (push.Length != spec.PushConstantBytes)
            throw new ArgumentException($"{label}: kernel {spec.Module} takes {spec.PushConstantBytes} bytes of push constants, {push.Length} given.");
        var max = context.Info.MaxWorkgroupCount;
        if (gx == 0 || gy == 0 || gz == 0 || gx > max[0] || gy > max[1] || gz > max[2])
            throw new KilnException($"{label}: dispatch of {gx}x{gy}x{gz} workgroups is outside the device's limits (1..{max[0]} x 1..{max[1]} x 1..{max[2]}).");
        Kernel = kernel;
        Push = push.ToArray();
        GroupsX = gx; GroupsY = gy; GroupsZ = gz;
        Label = label;
        Set = arena.Allocate(kernel.SetLayout);

        var writes = stackalloc WriteDescriptorSet[bindings.Length];
        var bufferInfos = stackalloc DescriptorBufferInfo[bindings.Length];
        var imageInfos = stackalloc DescriptorImageInfo[bindings.Length];
        var texelViews = stackalloc BufferView[bindings.Length];
        var buffers = new List<BufferAllocation>();
        for (int i = 0; i < bindings.Length; i++)
        {
            var b = bindings[i];
            var kind = spec.Bindings[i];
            writes[i] = new WriteDescriptorSet
            {
                SType = StructureType.WriteDescriptorSet,
                DstSet = Set,
                DstBinding = (uint)i,
                DescriptorCount = 1,
                DescriptorType = ComputeKernel.ToDescriptorType(kind),
            };
            if (kind == BindingKind.StorageImage)
            {
                if (!b.IsImage) throw new ArgumentException($"{label}: binding {i} of {spec.Module} is a storage image, a buffer was given.");
                imageInfos[i] = new DescriptorImageInfo { ImageView = b.Image, ImageLayout = ImageLayout.General };
                writes[i].PImageInfo = &imageInfos[i];
            }
            else
            {
                if (b.IsImage) throw new ArgumentException($"{label}: binding {i} of {spec.Module} is a buffer, an image was given.");
                b.Buffer!.ThrowIfDisposed();
                bufferInfos[i] = new DescriptorBufferInfo
                {
                    Buffer = b.Buffer.Block.Buffer,
                    Offset = b.Buffer.Offset + b.Offset,
                    Range = b.Size,
                };
                if (kind is BindingKind.UniformTexelBuffer or BindingKind.UniformTexelBufferF16)
                {
                    texelViews[i] = arena.FloatView(bufferInfos[i].Buffer, bufferInfos[i].Offset, b.Size, kind == BindingKind.UniformTexelBufferF16,
                        $"{label}: binding {i} of {spec.Module}");
                    writes[i].PTexelBufferView = &texelViews[i];
                }
                else writes[i].PBufferInfo = &bufferInfos[i];
                if (!buffers.Contains(b.Buffer)) buffers.Add(b.Buffer);
            }
        }
        context.Vk.UpdateDescriptorSets(context.Device, (uint)bindings.Length, writes, 0, null);
        Buffers = buffers.ToArray();
    }
}
