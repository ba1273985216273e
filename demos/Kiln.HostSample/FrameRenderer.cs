using Kiln.Embedding;
using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>
/// What the sample engine records every frame, headless or windowed: its scene pass draws colour, albedo and
/// normal into its own offscreen images, then Kiln's denoiser (<see cref="PostProcessPass.Denoise"/>) runs as a
/// post-process pass in the same command buffer and writes the fourth image. Owns those images and the pass;
/// <see cref="Resize"/> rebuilds everything image-sized when the window changes size.
/// </summary>
internal sealed class FrameRenderer : IDisposable
{
    readonly SampleDevice host;
    readonly GpuContext kiln;
    readonly ScenePass scene;
    readonly PostProcessPass denoise;
    RenderTarget[] targets;

    public FrameRenderer(SampleDevice host, GpuContext kiln, int width, int height, string? checkpoint)
    {
        this.host = host;
        this.kiln = kiln;
        targets = MakeTargets(width, height);
        try
        {
            scene = new ScenePass(host);
            try { denoise = PostProcessPass.Denoise(kiln, width, height, checkpoint); }
            catch { scene.Dispose(); throw; }
        }
        catch
        {
            foreach (var t in targets) t.Dispose();
            throw;
        }
    }

    /// <summary>The render size (each of the four images).</summary>
    public int Width => targets[0].Width;
    /// <inheritdoc cref="Width"/>
    public int Height => targets[0].Height;
    /// <summary>The noisy colour the scene pass drew.</summary>
    public RenderTarget Noisy => targets[0];
    /// <summary>Kiln's output.</summary>
    public RenderTarget Denoised => targets[3];
    /// <summary>Colour, albedo, normal, denoised.</summary>
    public IReadOnlyList<RenderTarget> Targets => targets;

    /// <summary>
    /// Records frame <paramref name="frame"/> into <paramref name="cmd"/> (begun): the scene, then Kiln's pass. All four
    /// images end in GENERAL with Kiln's writes visible to every later command. The caller submits and, after its
    /// fence, calls <see cref="HostCommandBuffer.Completed"/> on the returned Kiln frame.
    /// </summary>
    public HostCommandBuffer Record(CommandBuffer cmd, int frame, float noise)
    {
        // The previous frame's work finished behind the fence; the contents are discarded (UNDEFINED).
        for (int i = 0; i < 3; i++)
            targets[i].Transition(cmd, ImageLayout.Undefined, ImageLayout.ColorAttachmentOptimal, PipelineStageFlags.AllCommandsBit, 0,
                PipelineStageFlags.ColorAttachmentOutputBit, AccessFlags.ColorAttachmentWriteBit);
        targets[3].Transition(cmd, ImageLayout.Undefined, ImageLayout.General, PipelineStageFlags.AllCommandsBit, 0,
            PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit);

        scene.Record(cmd, targets, time: frame * 0.25f, noise, (uint)frame);

        // The G-buffer to GENERAL for Kiln's compute shaders.
        for (int i = 0; i < 3; i++)
            targets[i].Transition(cmd, ImageLayout.ColorAttachmentOptimal, ImageLayout.General, PipelineStageFlags.ColorAttachmentOutputBit,
                AccessFlags.ColorAttachmentWriteBit, PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderReadBit);

        var kilnFrame = kiln.WrapHostCommandBuffer((nint)cmd.Handle);
        bool written = denoise.Record(kilnFrame, new[] { targets[0].Kiln, targets[1].Kiln, targets[2].Kiln }, targets[3].Kiln);
        if (!written) throw new InvalidOperationException("host sample: the denoiser did not finish within the frame (LevelsPerFrame is all levels here).");
        kilnFrame.Submitted(); // Kiln's closing barrier: the engine's later commands see its writes
        return kilnFrame;
    }

    /// <summary>
    /// New images at <paramref name="width"/> x <paramref name="height"/> and Kiln's pass recompiled for them. Waits for
    /// the device first: the old images may still be in use by the frame in flight.
    /// </summary>
    public void Resize(int width, int height)
    {
        if (width == Width && height == Height) return;
        SampleDevice.Check(host.Vk.DeviceWaitIdle(host.Device), "vkDeviceWaitIdle");
        var next = MakeTargets(width, height);
        foreach (var t in targets) t.Dispose();
        targets = next;
        denoise.Resize(width, height);
    }

    RenderTarget[] MakeTargets(int width, int height)
    {
        var made = new List<RenderTarget>();
        try
        {
            for (int i = 0; i < 4; i++) made.Add(new RenderTarget(host, width, height));
            return made.ToArray();
        }
        catch
        {
            foreach (var t in made) t.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        SampleDevice.Check(host.Vk.DeviceWaitIdle(host.Device), "vkDeviceWaitIdle");
        denoise.Dispose();
        scene.Dispose();
        foreach (var t in targets) t.Dispose();
    }
}
