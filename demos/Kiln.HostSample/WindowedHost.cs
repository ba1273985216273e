using Kiln.IO;
using Silk.NET.Vulkan;
using Semaphore = Silk.NET.Vulkan.Semaphore;

namespace Kiln.HostSample;

/// <summary>
/// The sample engine in a window: every frame it acquires a swapchain image, records its scene and Kiln's
/// denoiser (<see cref="FrameRenderer"/>) and then blits the noisy image to the left half and the denoised one
/// to the right half of the swapchain image, all in one command buffer, submits it (waiting on the acquire,
/// signalling the present) and presents. When the window's size changes (the user, or <see cref="SampleOptions.ResizeAtFrame"/>)
/// or presentation reports the swapchain out of date, it recreates the swapchain and rebuilds the render images
/// and Kiln's pass at half the new width.
/// </summary>
internal static unsafe class WindowedHost
{
    public static SampleResult Run(SampleOptions options, TextWriter log)
    {
        using var window = new SampleWindow(2 * options.Width, options.Height, options.Display, "Kiln host sample: noisy | denoised");
        var host = new SampleDevice(options.Validation, window);
        var sizes = new List<(int, int)>();
        int swapchains = 0;
        Semaphore imageAvailable = default;
        try
        {
            var semaphoreInfo = new SemaphoreCreateInfo { SType = StructureType.SemaphoreCreateInfo };
            SampleDevice.Check(host.Vk.CreateSemaphore(host.Device, &semaphoreInfo, null, &imageAvailable), "vkCreateSemaphore");
            using var kiln = GpuContext.Adopt(host.Handles, new ContextOptions { PipelineCacheDirectory = "" });
            using var swapchain = new Swapchain(host, 2 * options.Width, options.Height);
            using var renderer = new FrameRenderer(host, kiln, Half(swapchain.Extent).Width, Half(swapchain.Extent).Height, options.Checkpoint);
            log.WriteLine($"host sample: window {swapchain.Extent.Width}x{swapchain.Extent.Height} ({swapchain.Format}, {swapchain.Images.Length} images), " +
                $"Kiln on {kiln.Info.Name}, denoiser {(options.Checkpoint ?? "untrained (seed 0)")}, validation {(options.Validation ? "on" : "off")}");
            bool outOfDate = false;
            for (int f = 0; options.Frames is not int n || f < n;)
            {
                window.PollEvents();
                if (window.ShouldClose) break;
                if (f == options.ResizeAtFrame)
                {
                    window.Resize(2 * options.ResizeWidth, options.ResizeHeight);
                    if (!window.WaitForSize(2 * options.ResizeWidth, options.ResizeHeight, seconds: 10))
                        throw new InvalidOperationException($"host sample: the window did not become {2 * options.ResizeWidth}x{options.ResizeHeight} within 10 s.");
                }
                var (fw, fh) = window.FramebufferSize;
                if (fw < 2 || fh < 1)
                {
                    window.WaitForEvents(0.1); // minimised: nothing to present to
                    continue;
                }
                if (outOfDate || fw != swapchain.Extent.Width || fh != swapchain.Extent.Height)
                {
                    swapchain.Recreate(fw, fh);
                    var half = Half(swapchain.Extent);
                    renderer.Resize(half.Width, half.Height);
                    outOfDate = false;
                    log.WriteLine($"window resized: swapchain {swapchain.Extent.Width}x{swapchain.Extent.Height}, render {half.Width}x{half.Height}");
                }
                var sw = System.Diagnostics.Stopwatch.StartNew();
                if (swapchain.Acquire(imageAvailable, out uint index) == Result.ErrorOutOfDateKhr)
                {
                    outOfDate = true;
                    continue;
                }
                host.Begin();
                var kilnFrame = renderer.Record(host.Command, f, options.Noise);
                RecordSideBySide(host, renderer, swapchain.Images[index], swapchain.Extent);
                host.EndSubmitWait(imageAvailable, PipelineStageFlags.TransferBit, swapchain.RenderFinished(index));
                kilnFrame.Completed();
                outOfDate = swapchain.Present(index) != Result.Success;
                sizes.Add((renderer.Width, renderer.Height));
                log.WriteLine($"frame {f}: {sw.Elapsed.TotalMilliseconds:F0} ms, presented image {index}");
                f++;
            }
            SampleDevice.Check(host.Vk.QueueWaitIdle(host.Queue), "vkQueueWaitIdle");
            if (options.Screenshot != null && sizes.Count > 0)
            {
                var (w, h) = ((int)swapchain.Extent.Width, (int)swapchain.Extent.Height);
                ImageFile.Save(options.Screenshot, window.Screenshot(w, h), 3, h, w);
                log.WriteLine($"screenshot {w}x{h} -> {options.Screenshot}");
            }
            swapchains = swapchain.Created;
        }
        finally
        {
            host.Vk.DeviceWaitIdle(host.Device);
            host.Vk.DestroySemaphore(host.Device, imageAvailable, null);
            host.Dispose();
        }
        return new SampleResult(Array.Empty<string>(), host.Messages, options.Validation, Array.Empty<float[]>())
        {
            FramesRendered = sizes.Count,
            Swapchains = swapchains,
            FrameSizes = sizes,
            Screenshot = options.Screenshot != null && sizes.Count > 0 ? options.Screenshot : null,
        };
    }

    static (int Width, int Height) Half(Extent2D extent) => (Math.Max(1, (int)extent.Width / 2), (int)extent.Height);

    /// <summary>
    /// Records the copy of the frame to the swapchain image: cleared (an odd width leaves a column), the noisy
    /// image blitted to the left half and the denoised one to the right half, then PRESENT_SRC.
    /// </summary>
    static void RecordSideBySide(SampleDevice host, FrameRenderer renderer, Image target, Extent2D extent)
    {
        var (vk, cmd) = (host.Vk, host.Command);
        // The acquire semaphore's wait is at the transfer stage; the transition chains after it.
        ImageBarrier.Record(vk, cmd, target, ImageLayout.Undefined, ImageLayout.TransferDstOptimal,
            PipelineStageFlags.TransferBit, 0, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit);
        var black = new ClearColorValue(0, 0, 0, 1);
        var range = new ImageSubresourceRange(ImageAspectFlags.ColorBit, 0, 1, 0, 1);
        vk.CmdClearColorImage(cmd, target, ImageLayout.TransferDstOptimal, &black, 1, &range);
        ImageBarrier.Record(vk, cmd, target, ImageLayout.TransferDstOptimal, ImageLayout.TransferDstOptimal,
            PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit, PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit);
        foreach (var (source, x) in new[] { (renderer.Noisy, 0), (renderer.Denoised, renderer.Width) })
        {
            source.Transition(cmd, ImageLayout.General, ImageLayout.TransferSrcOptimal,
                PipelineStageFlags.ComputeShaderBit, AccessFlags.ShaderWriteBit, PipelineStageFlags.TransferBit, AccessFlags.TransferReadBit);
            var blit = new ImageBlit { SrcSubresource = new ImageSubresourceLayers(ImageAspectFlags.ColorBit, 0, 0, 1), DstSubresource = new ImageSubresourceLayers(ImageAspectFlags.ColorBit, 0, 0, 1) };
            blit.SrcOffsets[1] = new Offset3D(source.Width, source.Height, 1);
            blit.DstOffsets[0] = new Offset3D(x, 0, 0);
            blit.DstOffsets[1] = new Offset3D(x + source.Width, source.Height, 1);
            vk.CmdBlitImage(cmd, source.Image, ImageLayout.TransferSrcOptimal, target, ImageLayout.TransferDstOptimal, 1, &blit, Filter.Nearest);
        }
        ImageBarrier.Record(vk, cmd, target, ImageLayout.TransferDstOptimal, ImageLayout.PresentSrcKhr,
            PipelineStageFlags.TransferBit, AccessFlags.TransferWriteBit, PipelineStageFlags.BottomOfPipeBit, 0);
    }
}
