using Kiln.IO;
using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>
/// The minimal host engine's frame loop. Each frame the engine records its scene pass and Kiln's denoiser
/// (<see cref="FrameRenderer"/>) into its own command buffer. Headless, it then copies the noisy and the denoised
/// image (with the albedo and normal) to its readback buffers in the same command buffer, submits, waits on its
/// fence and writes them side by side as a PNG. With <see cref="SampleOptions.Window"/> it presents them side by
/// side to a window instead (<see cref="WindowedHost"/>).
/// </summary>
public static class SampleHost
{
    /// <summary>Runs the sample as <paramref name="options"/> say, logging a line per frame to <paramref name="log"/>.</summary>
    public static SampleResult Run(SampleOptions options, TextWriter log) =>
        options.Window ? WindowedHost.Run(options, log) : RunHeadless(options, log);

    static SampleResult RunHeadless(SampleOptions options, TextWriter log)
    {
        int frames = options.Frames ?? 8;
        Directory.CreateDirectory(options.OutputDirectory);
        var files = new List<string>();
        var lastFrame = Array.Empty<float[]>();
        var host = new SampleDevice(options.Validation);
        try
        {
            using var kiln = GpuContext.Adopt(host.Handles, new ContextOptions { PipelineCacheDirectory = "" });
            using var renderer = new FrameRenderer(host, kiln, options.Width, options.Height, options.Checkpoint);
            log.WriteLine($"host sample: {options.Width}x{options.Height}, {frames} frame(s), Kiln on {kiln.Info.Name}, " +
                $"denoiser {(options.Checkpoint ?? "untrained (seed 0)")}, validation {(options.Validation ? "on" : "off")}");
            for (int f = 0; f < frames; f++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                host.Begin();
                var kilnFrame = renderer.Record(host.Command, f, options.Noise);
                // Kiln leaves the images in GENERAL; the engine reads back its G-buffer and the denoised frame.
                var targets = renderer.Targets;
                for (int i = 0; i < 3; i++) targets[i].RecordReadback(host.Command, ImageLayout.General, PipelineStageFlags.ComputeShaderBit, 0);
                targets[3].RecordReadback(host.Command, ImageLayout.General, PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit);
                host.EndSubmitWait();
                kilnFrame.Completed();

                var path = Path.Combine(options.OutputDirectory, $"frame_{f:D4}.png");
                Save(path, renderer.Noisy, renderer.Denoised);
                files.Add(path);
                if (f == frames - 1) lastFrame = targets.Select(t => t.Pixels.ToArray()).ToArray();
                log.WriteLine($"frame {f}: {sw.Elapsed.TotalMilliseconds:F0} ms -> {path}");
            }
        }
        finally { host.Dispose(); }
        return new SampleResult(files, host.Messages, options.Validation, lastFrame) { FramesRendered = files.Count };
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
