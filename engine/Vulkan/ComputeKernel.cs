using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>One compute pipeline with its descriptor-set layout and pipeline layout, owned by the <see cref="PipelineStore"/>.</summary>
internal sealed unsafe class ComputeKernel
{
    public readonly KernelSpec Spec;
    public readonly DescriptorSetLayout SetLayout;
    public readonly PipelineLayout Layout;
    public readonly Pipeline Pipeline;

    public ComputeKernel(GpuContext context, KernelSpec spec, ShaderModule module, PipelineCache cache)
    {
        Spec = spec;
        var vk = context.Vk;
        var device = context.Device;
        var bindings = new DescriptorSetLayoutBinding[spec.Bindings.Length];
        for (int i = 0; i < bindings.Length; i++)
            bindings[i] = new DescriptorSetLayoutBinding
            {
                Binding = (uint)i,
                DescriptorType = ToDescriptorType(spec.Bindings[i]),
                DescriptorCount = 1,
                StageFlags = ShaderStageFlags.ComputeBit,
            };
        fixed (DescriptorSetLayoutBinding* pb = bindings)
        {
            var info = new DescriptorSetLayoutCreateInfo
            {
                SType = StructureType.DescriptorSetLayoutCreateInfo,
                BindingCount = (uint)bindings.Length,
                PBindings = pb,
            };
            DescriptorSetLayout setLayout;
            VulkanException.Check(vk.CreateDescriptorSetLayout(device, &info, null, &setLayout), "vkCreateDescriptorSetLayout");
            SetLayout = setLayout;
        }
        if (spec.PushConstantBytes > context.Info.MaxPushConstantsBytes)
            throw new KilnException($"Kernel {spec.Module} needs {spec.PushConstantBytes} bytes of push constants; the device allows {context.Info.MaxPushConstantsBytes}.");
        var range = new PushConstantRange(ShaderStageFlags.ComputeBit, 0, spec.PushConstantBytes);
        var sl = SetLayout;
        var layoutInfo = new PipelineLayoutCreateInfo
        {
            SType = StructureType.PipelineLayoutCreateInfo,
            SetLayoutCount = 1,
            PSetLayouts = &sl,
            PushConstantRangeCount = spec.PushConstantBytes > 0 ? 1u : 0u,
            PPushConstantRanges = &range,
        };
        PipelineLayout layout;
        VulkanException.Check(vk.CreatePipelineLayout(device, &layoutInfo, null, &layout), "vkCreatePipelineLayout");
        Layout = layout;

        // Constants 0..n-1 are the kernel's own; 100..102 are its workgroup size.
        int n = spec.Constants.Length;
        var data = new uint[n + 3];
        var entries = new SpecializationMapEntry[n + 3];
        for (int i = 0; i < n; i++)
        {
            data[i] = spec.Constants[i];
            entries[i] = new SpecializationMapEntry((uint)i, (uint)(i * 4), 4);
        }
        data[n] = spec.LocalX; data[n + 1] = spec.LocalY; data[n + 2] = spec.LocalZ;
        for (int i = 0; i < 3; i++)
            entries[n + i] = new SpecializationMapEntry(KernelSpec.LocalSizeXId + (uint)i, (uint)((n + i) * 4), 4);
        var entry = (byte*)Silk.NET.Core.Native.SilkMarshal.StringToPtr("main");
        try {
        fixed (uint* pd = data)
        fixed (SpecializationMapEntry* pe = entries)
        {
            var specInfo = new SpecializationInfo
            {
                MapEntryCount = (uint)entries.Length,
                PMapEntries = pe,
                DataSize = (nuint)(data.Length * 4),
                PData = pd,
            };
            var info = new ComputePipelineCreateInfo
            {
                SType = StructureType.ComputePipelineCreateInfo,
                Stage = new PipelineShaderStageCreateInfo
                {
                    SType = StructureType.PipelineShaderStageCreateInfo,
                    Stage = ShaderStageFlags.ComputeBit,
                    Module = module,
                    PName = entry,
                    PSpecializationInfo = &specInfo,
                },
                Layout = layout,
            };
            Pipeline pipeline;
            VulkanException.Check(vk.CreateComputePipelines(device, cache, 1, &info, null, &pipeline), $"vkCreateComputePipelines ({spec.Module})");
            Pipeline = pipeline;
            context.Debug?.Name(ObjectType.Pipeline, pipeline.Handle, spec.Module);
        }
        } finally { Silk.NET.Core.Native.SilkMarshal.Free((nint)entry); }
    }

    internal static DescriptorType ToDescriptorType(BindingKind k) => k switch
    {
        BindingKind.StorageBuffer => DescriptorType.StorageBuffer,
        BindingKind.UniformBuffer => DescriptorType.UniformBuffer,
        BindingKind.StorageImage => DescriptorType.StorageImage,
        BindingKind.UniformTexelBuffer or BindingKind.UniformTexelBufferF16 => DescriptorType.UniformTexelBuffer,
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    public void Destroy(GpuContext context)
    {
        context.Vk.DestroyPipeline(context.Device, Pipeline, null);
        context.Vk.DestroyPipelineLayout(context.Device, Layout, null);
        context.Vk.DestroyDescriptorSetLayout(context.Device, SetLayout, null);
    }
}
