using System.Runtime.InteropServices;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>
/// The sample engine's scene pass: a graphics pipeline (shaders/scene.vert and scene.frag, compiled by glslc at
/// build time and embedded) drawn with dynamic rendering into three colour attachments, the noisy colour, the
/// albedo and the normal (rgba32f each). The fragment shader casts one ray per pixel into the scene.
/// </summary>
internal sealed unsafe class ScenePass : IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    struct FrameConstants
    {
        public float Time, Aspect, Noise;
        public uint Frame;
    }

    readonly SampleDevice host;
    readonly ShaderModule vertex, fragment;
    readonly PipelineLayout layout;
    readonly Pipeline pipeline;

    public ScenePass(SampleDevice host)
    {
        this.host = host;
        var vk = host.Vk;
        vertex = LoadShader("scene.vert.spv");
        fragment = LoadShader("scene.frag.spv");

        var range = new PushConstantRange(ShaderStageFlags.FragmentBit, 0, (uint)sizeof(FrameConstants));
        var layoutInfo = new PipelineLayoutCreateInfo { SType = StructureType.PipelineLayoutCreateInfo, PushConstantRangeCount = 1, PPushConstantRanges = &range };
        PipelineLayout pl;
        SampleDevice.Check(vk.CreatePipelineLayout(host.Device, &layoutInfo, null, &pl), "vkCreatePipelineLayout");
        layout = pl;

        var entry = (byte*)SilkMarshal.StringToPtr("main");
        try
        {
            var stages = stackalloc PipelineShaderStageCreateInfo[2];
            stages[0] = new PipelineShaderStageCreateInfo { SType = StructureType.PipelineShaderStageCreateInfo, Stage = ShaderStageFlags.VertexBit, Module = vertex, PName = entry };
            stages[1] = new PipelineShaderStageCreateInfo { SType = StructureType.PipelineShaderStageCreateInfo, Stage = ShaderStageFlags.FragmentBit, Module = fragment, PName = entry };
            var vertexInput = new PipelineVertexInputStateCreateInfo { SType = StructureType.PipelineVertexInputStateCreateInfo };
            var assembly = new PipelineInputAssemblyStateCreateInfo { SType = StructureType.PipelineInputAssemblyStateCreateInfo, Topology = PrimitiveTopology.TriangleList };
            var viewport = new PipelineViewportStateCreateInfo { SType = StructureType.PipelineViewportStateCreateInfo, ViewportCount = 1, ScissorCount = 1 };
            var raster = new PipelineRasterizationStateCreateInfo
            {
                SType = StructureType.PipelineRasterizationStateCreateInfo,
                PolygonMode = PolygonMode.Fill,
                CullMode = CullModeFlags.None,
                FrontFace = FrontFace.CounterClockwise,
                LineWidth = 1,
            };
            var multisample = new PipelineMultisampleStateCreateInfo { SType = StructureType.PipelineMultisampleStateCreateInfo, RasterizationSamples = SampleCountFlags.Count1Bit };
            var blends = stackalloc PipelineColorBlendAttachmentState[3];
            for (int i = 0; i < 3; i++)
                blends[i] = new PipelineColorBlendAttachmentState
                {
                    ColorWriteMask = ColorComponentFlags.RBit | ColorComponentFlags.GBit | ColorComponentFlags.BBit | ColorComponentFlags.ABit,
                };
            var blend = new PipelineColorBlendStateCreateInfo { SType = StructureType.PipelineColorBlendStateCreateInfo, AttachmentCount = 3, PAttachments = blends };
            var dynamicStates = stackalloc DynamicState[] { DynamicState.Viewport, DynamicState.Scissor };
            var dynamic = new PipelineDynamicStateCreateInfo { SType = StructureType.PipelineDynamicStateCreateInfo, DynamicStateCount = 2, PDynamicStates = dynamicStates };
            var formats = stackalloc Format[] { RenderTarget.VkFormat, RenderTarget.VkFormat, RenderTarget.VkFormat };
            var rendering = new PipelineRenderingCreateInfo { SType = StructureType.PipelineRenderingCreateInfo, ColorAttachmentCount = 3, PColorAttachmentFormats = formats };
            var info = new GraphicsPipelineCreateInfo
            {
                SType = StructureType.GraphicsPipelineCreateInfo,
                PNext = &rendering,
                StageCount = 2,
                PStages = stages,
                PVertexInputState = &vertexInput,
                PInputAssemblyState = &assembly,
                PViewportState = &viewport,
                PRasterizationState = &raster,
                PMultisampleState = &multisample,
                PColorBlendState = &blend,
                PDynamicState = &dynamic,
                Layout = layout,
            };
            Pipeline p;
            SampleDevice.Check(vk.CreateGraphicsPipelines(host.Device, default, 1, &info, null, &p), "vkCreateGraphicsPipelines");
            pipeline = p;
        }
        finally { SilkMarshal.Free((nint)entry); }
    }

    ShaderModule LoadShader(string name)
    {
        using var stream = typeof(ScenePass).Assembly.GetManifestResourceStream("Kiln.HostSample/" + name)
            ?? throw new InvalidOperationException($"host sample: the shader {name} is not embedded (did glslc run at build time?)");
        var code = new byte[stream.Length];
        stream.ReadExactly(code);
        fixed (byte* p = code)
        {
            var info = new ShaderModuleCreateInfo { SType = StructureType.ShaderModuleCreateInfo, CodeSize = (nuint)code.Length, PCode = (uint*)p };
            ShaderModule m;
            SampleDevice.Check(host.Vk.CreateShaderModule(host.Device, &info, null, &m), "vkCreateShaderModule");
            return m;
        }
    }

    /// <summary>
    /// Records the scene into <paramref name="targets"/> (colour, albedo, normal), which must be in
    /// COLOR_ATTACHMENT_OPTIMAL; they stay there.
    /// </summary>
    public void Record(CommandBuffer cmd, RenderTarget[] targets, float time, float noise, uint frame)
    {
        var vk = host.Vk;
        int w = targets[0].Width, h = targets[0].Height;
        var attachments = stackalloc RenderingAttachmentInfo[3];
        for (int i = 0; i < 3; i++)
            attachments[i] = new RenderingAttachmentInfo
            {
                SType = StructureType.RenderingAttachmentInfo,
                ImageView = targets[i].View,
                ImageLayout = ImageLayout.ColorAttachmentOptimal,
                LoadOp = AttachmentLoadOp.DontCare,
                StoreOp = AttachmentStoreOp.Store,
            };
        var rendering = new RenderingInfo
        {
            SType = StructureType.RenderingInfo,
            RenderArea = new Rect2D(new Offset2D(0, 0), new Extent2D((uint)w, (uint)h)),
            LayerCount = 1,
            ColorAttachmentCount = 3,
            PColorAttachments = attachments,
        };
        vk.CmdBeginRendering(cmd, &rendering);
        var viewport = new Viewport(0, 0, w, h, 0, 1);
        var scissor = rendering.RenderArea;
        vk.CmdSetViewport(cmd, 0, 1, &viewport);
        vk.CmdSetScissor(cmd, 0, 1, &scissor);
        vk.CmdBindPipeline(cmd, PipelineBindPoint.Graphics, pipeline);
        var constants = new FrameConstants { Time = time, Aspect = (float)w / h, Noise = noise, Frame = frame };
        vk.CmdPushConstants(cmd, layout, ShaderStageFlags.FragmentBit, 0, (uint)sizeof(FrameConstants), &constants);
        vk.CmdDraw(cmd, 3, 1, 0, 0);
        vk.CmdEndRendering(cmd);
    }

    public void Dispose()
    {
        var vk = host.Vk;
        vk.DestroyPipeline(host.Device, pipeline, null);
        vk.DestroyPipelineLayout(host.Device, layout, null);
        vk.DestroyShaderModule(host.Device, vertex, null);
        vk.DestroyShaderModule(host.Device, fragment, null);
    }
}
