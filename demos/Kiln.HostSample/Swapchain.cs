using Silk.NET.Vulkan;
using Semaphore = Silk.NET.Vulkan.Semaphore;

namespace Kiln.HostSample;

/// <summary>
/// The window's swapchain: 8-bit UNORM images (the same 0..1 to 0..255 mapping as the headless PNGs) that the
/// frame fills by blits (TRANSFER_DST usage), FIFO presentation, and one "render finished" semaphore per image
/// (a present may still wait on its semaphore when the next frame is submitted). <see cref="Recreate"/> replaces
/// it at the surface's new size after a resize or an out-of-date result.
/// </summary>
internal sealed unsafe class Swapchain : IDisposable
{
    readonly SampleDevice host;
    readonly KhrFunctions khr;
    SwapchainKHR handle;
    Semaphore[] renderFinished = Array.Empty<Semaphore>();

    /// <summary>A swapchain for the host's surface, about <paramref name="width"/> x <paramref name="height"/> (the surface decides).</summary>
    public Swapchain(SampleDevice host, int width, int height)
    {
        this.host = host;
        khr = host.Khr ?? throw new InvalidOperationException("host sample: a swapchain needs a device made with a window.");
        Format = ChooseFormat();
        CheckBlits();
        Create(width, height);
    }

    /// <summary>The images' format (B8G8R8A8 or R8G8B8A8 UNORM).</summary>
    public Format Format { get; }
    /// <summary>The images' size now.</summary>
    public Extent2D Extent { get; private set; }
    /// <summary>The presentable images (owned by the swapchain).</summary>
    public Image[] Images { get; private set; } = Array.Empty<Image>();
    /// <summary>How many swapchains were made so far (1 + recreations).</summary>
    public int Created { get; private set; }

    /// <summary>The semaphore the frame that fills image <paramref name="index"/> signals and its present waits on.</summary>
    public Semaphore RenderFinished(uint index) => renderFinished[index];

    /// <summary>
    /// Waits for the device to go idle (nothing in flight uses the old images), then makes a new swapchain at the
    /// surface's size (about <paramref name="width"/> x <paramref name="height"/>) from the old one and destroys the old.
    /// </summary>
    public void Recreate(int width, int height)
    {
        SampleDevice.Check(host.Vk.DeviceWaitIdle(host.Device), "vkDeviceWaitIdle");
        var (old, oldSemaphores) = (handle, renderFinished);
        try { Create(width, height, old); }
        finally
        {
            khr.DestroySwapchain(host.Device, old);
            foreach (var s in oldSemaphores) host.Vk.DestroySemaphore(host.Device, s, null);
        }
    }

    /// <summary>vkAcquireNextImageKHR: Success, SuboptimalKhr (usable, recreate soon) or ErrorOutOfDateKhr (recreate now); others throw.</summary>
    public Result Acquire(Semaphore signal, out uint index)
    {
        uint i;
        var r = khr.AcquireNextImage(host.Device, handle, 10_000_000_000UL, signal, &i);
        if (r is not (Result.Success or Result.SuboptimalKhr or Result.ErrorOutOfDateKhr)) SampleDevice.Check(r, "vkAcquireNextImageKHR");
        index = i;
        return r;
    }

    /// <summary>vkQueuePresentKHR of image <paramref name="index"/> after its <see cref="RenderFinished"/>; returns as <see cref="Acquire"/>.</summary>
    public Result Present(uint index)
    {
        var (swapchain, wait) = (handle, renderFinished[index]);
        var info = new PresentInfoKHR
        {
            SType = StructureType.PresentInfoKhr,
            WaitSemaphoreCount = 1,
            PWaitSemaphores = &wait,
            SwapchainCount = 1,
            PSwapchains = &swapchain,
            PImageIndices = &index,
        };
        var r = khr.QueuePresent(host.Queue, &info);
        if (r is not (Result.Success or Result.SuboptimalKhr or Result.ErrorOutOfDateKhr)) SampleDevice.Check(r, "vkQueuePresentKHR");
        return r;
    }

    void Create(int width, int height, SwapchainKHR old = default)
    {
        SurfaceCapabilitiesKHR caps;
        SampleDevice.Check(khr.GetSurfaceCapabilities(host.PhysicalDevice, host.Surface, &caps), "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
        if ((caps.SupportedUsageFlags & ImageUsageFlags.TransferDstBit) == 0)
            throw new InvalidOperationException("host sample: the surface's images cannot be transfer destinations (the sample blits into them).");
        // currentExtent is the window's size, or 0xFFFFFFFF when the swapchain decides.
        var extent = caps.CurrentExtent.Width != uint.MaxValue ? caps.CurrentExtent
            : new Extent2D(Math.Clamp((uint)width, caps.MinImageExtent.Width, caps.MaxImageExtent.Width), Math.Clamp((uint)height, caps.MinImageExtent.Height, caps.MaxImageExtent.Height));
        uint count = caps.MaxImageCount == 0 ? caps.MinImageCount + 1 : Math.Min(caps.MinImageCount + 1, caps.MaxImageCount);
        var supportedAlpha = caps.SupportedCompositeAlpha;
        var alpha = new[] { CompositeAlphaFlagsKHR.OpaqueBitKhr, CompositeAlphaFlagsKHR.InheritBitKhr, CompositeAlphaFlagsKHR.PreMultipliedBitKhr, CompositeAlphaFlagsKHR.PostMultipliedBitKhr }
            .First(a => (supportedAlpha & a) != 0);
        var info = new SwapchainCreateInfoKHR
        {
            SType = StructureType.SwapchainCreateInfoKhr,
            Surface = host.Surface,
            MinImageCount = count,
            ImageFormat = Format,
            ImageColorSpace = ColorSpaceKHR.SpaceSrgbNonlinearKhr,
            ImageExtent = extent,
            ImageArrayLayers = 1,
            ImageUsage = ImageUsageFlags.TransferDstBit,
            ImageSharingMode = SharingMode.Exclusive,
            PreTransform = caps.CurrentTransform,
            CompositeAlpha = alpha,
            PresentMode = PresentModeKHR.FifoKhr, // always supported
            Clipped = true,
            OldSwapchain = old,
        };
        SwapchainKHR created;
        SampleDevice.Check(khr.CreateSwapchain(host.Device, &info, &created), "vkCreateSwapchainKHR");
        uint n = 0;
        SampleDevice.Check(khr.GetSwapchainImages(host.Device, created, &n, null), "vkGetSwapchainImagesKHR");
        var images = new Image[n];
        fixed (Image* p = images) SampleDevice.Check(khr.GetSwapchainImages(host.Device, created, &n, p), "vkGetSwapchainImagesKHR");
        var semaphores = new Semaphore[n];
        var semaphoreInfo = new SemaphoreCreateInfo { SType = StructureType.SemaphoreCreateInfo };
        for (int i = 0; i < n; i++)
            fixed (Semaphore* s = &semaphores[i]) SampleDevice.Check(host.Vk.CreateSemaphore(host.Device, &semaphoreInfo, null, s), "vkCreateSemaphore");
        (handle, Images, renderFinished, Extent) = (created, images, semaphores, extent);
        Created++;
    }

    Format ChooseFormat()
    {
        uint n = 0;
        SampleDevice.Check(khr.GetSurfaceFormats(host.PhysicalDevice, host.Surface, &n, null), "vkGetPhysicalDeviceSurfaceFormatsKHR");
        var formats = new SurfaceFormatKHR[n];
        fixed (SurfaceFormatKHR* p = formats) SampleDevice.Check(khr.GetSurfaceFormats(host.PhysicalDevice, host.Surface, &n, p), "vkGetPhysicalDeviceSurfaceFormatsKHR");
        foreach (var wanted in new[] { Format.B8G8R8A8Unorm, Format.R8G8B8A8Unorm })
            if (formats.Any(f => f.Format == wanted && f.ColorSpace == ColorSpaceKHR.SpaceSrgbNonlinearKhr)) return wanted;
        throw new InvalidOperationException($"host sample: the surface offers no 8-bit UNORM format (it offers {string.Join(", ", formats.Select(f => f.Format))}).");
    }

    void CheckBlits()
    {
        FormatProperties src, dst;
        host.Vk.GetPhysicalDeviceFormatProperties(host.PhysicalDevice, RenderTarget.VkFormat, &src);
        host.Vk.GetPhysicalDeviceFormatProperties(host.PhysicalDevice, Format, &dst);
        if ((src.OptimalTilingFeatures & FormatFeatureFlags.BlitSrcBit) == 0 || (dst.OptimalTilingFeatures & FormatFeatureFlags.BlitDstBit) == 0)
            throw new InvalidOperationException($"host sample: the device cannot blit {RenderTarget.VkFormat} to {Format}.");
    }

    public void Dispose()
    {
        khr.DestroySwapchain(host.Device, handle);
        foreach (var s in renderFinished) host.Vk.DestroySemaphore(host.Device, s, null);
    }
}
