using Kiln.Embedding;
using Kiln.IO;
using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>What a run of the sample produced.</summary>
/// <param name="Files">The PNGs written, one per frame: the noisy render (left) beside Kiln's denoised frame (right).</param>
/// <param name="ValidationMessages">Validation warnings and errors (empty when validation was off or silent).</param>
/// <param name="Validation">Whether the validation layer was on.</param>
/// <param name="LastFrame">The last frame's images as read back, RGBA floats row by row: colour, albedo, normal, denoised.</param>
public sealed record SampleResult(IReadOnlyList<string> Files, IReadOnlyList<string> ValidationMessages, bool Validation, float[][] LastFrame);

/// <summary>
/// The minimal host engine's frame loop: its scene pass draws colour, albedo and normal into its own offscreen
/// images; Kiln's denoiser (<see cref="PostProcessPass.Denoise"/>) runs as a post-process pass recorded into the
/// engine's own command buffer right after; the engine copies the noisy and the denoised image to its readback
/// buffers (with the albedo and normal) in the same command buffer, submits, waits on its fence and writes them side by side as a PNG.
/// </summary>
public static class SampleHost
{
    /// <summary>Renders <see cref="SampleOptions.Frames"/> frames and writes them to <see cref="SampleOptions.OutputDirectory"/>.</summary>
    public static SampleResult Run(SampleOptions options, TextWriter log)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var files = new List<string>();
        var lastFrame = Array.Empty<float[]>();
        using var host = new SampleDevice(options.Validation);
        var targets = new RenderTarget[4]; // colour, albedo, normal, denoised
        ScenePass? scene = null;
        try
        {
            for (int i = 0; i < targets.Length; i++) targets[i] = new RenderTarget(host, options.Width, options.Height);
            scene = new ScenePass(host);
            using (var kiln = GpuContext.Adopt(host.Handles, new ContextOptions { PipelineCacheDirectory = "" }))
            using (var denoise = PostProcessPass.Denoise(kiln, options.Width, options.Height, options.Checkpoint))
            {
                log.WriteLine($"host sample: {options.Width}x{options.Height}, {options.Frames} frame(s), Kiln on {kiln.Info.Name}, " +
                    $"denoiser {(options.Checkpoint ?? "untrained (seed 0)")}, validation {(options.Validation ? "on" : "off")}");
                for (int f = 0; f < options.Frames; f++)
                {
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    RenderFrame(host, scene, kiln, denoise, targets, f, options.Noise);
                    var path = Path.Combine(options.OutputDirectory, $"frame_{f:D4}.png");
                    Save(path, targets[0], targets[3]);
                    files.Add(path);
                    if (f == options.Frames - 1) lastFrame = targets.Select(t => t.Pixels.ToArray()).ToArray();
                    log.WriteLine($"frame {f}: {sw.Elapsed.TotalMilliseconds:F0} ms -> {path}");
                }
            }
        }
        finally
        {
            host.Vk.DeviceWaitIdle(host.Device);
            scene?.Dispose();
            foreach (var t in targets) t?.Dispose();
        }
        return new SampleResult(files, host.Messages, options.Validation, lastFrame);
    }

    static void RenderFrame(SampleDevice host, ScenePass scene, GpuContext kiln, PostProcessPass denoise, RenderTarget[] targets, int f, float noise)
    {
        host.Begin();
        var cmd = host.Command;
        // Last frame's work finished behind the fence; the contents are discarded (UNDEFINED).
        for (int i = 0; i < 3; i++)
            targets[i].Transition(cmd, ImageLayout.Undefined, ImageLayout.ColorAttachmentOptimal, PipelineStageFlags.AllCommandsBit, 0,
                PipelineStageFlags.ColorAttachmentOutputBit, AccessFlags.ColorAttachmentWriteBit);
        targets[3].Transition(cmd, ImageLayout.Undefined, ImageLayout.General, PipelineStageFlags.AllCommandsBit, 0,
            PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit);

        scene.Record(cmd, targets, time: f * 0.25f, noise, (uint)f);

        // The G-buffer to GENERAL for Kiln's compute shaders.
        for (int i = 0; i < 3; i++)
            targets[i].Transition(cmd, ImageLayout.ColorAttachmentOptimal, ImageLayout.General, PipelineStageFlags.ColorAttachmentOutputBit,
                AccessFlags.ColorAttachmentWriteBit, PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderReadBit);

        var kilnFrame = kiln.WrapHostCommandBuffer((nint)cmd.Handle);
        bool written = denoise.Record(kilnFrame, new[] { targets[0].Kiln, targets[1].Kiln, targets[2].Kiln }, targets[3].Kiln);
        if (!written) throw new InvalidOperationException("host sample: the denoiser did not finish within the frame (LevelsPerFrame is all levels here).");

        // Kiln leaves the images in GENERAL; the engine reads back its G-buffer and the denoised frame.
        for (int i = 0; i < 3; i++) targets[i].RecordReadback(cmd, ImageLayout.General, PipelineStageFlags.ComputeShaderBit, 0);
        targets[3].RecordReadback(cmd, ImageLayout.General, PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit);
        kilnFrame.Submitted();
        host.EndSubmitWait();
        kilnFrame.Completed();
    }

    static void Save(string path, RenderTarget noisy, RenderTarget denoised)
    {
        ImageFile.SaveGrid(path, new[] { new[] { Chw(noisy.Pixels, noisy.Width, noisy.Height), Chw(denoised.Pixels, denoised.Width, denoised.Height) } },
            noisy.Height, noisy.Width);
    }

    static float[] Chw(ReadOnlySpan<float> rgba, int width, int height)
    {
        int n = width * height;
        var chw = new float[3 * n];
        for (int p = 0; p < n; p++)
            for (int c = 0; c < 3; c++) chw[c * n + p] = rgba[p * 4 + c];
        return chw;
    }
}
