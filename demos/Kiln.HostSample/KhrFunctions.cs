using Silk.NET.Core;
using Silk.NET.Vulkan;
using Semaphore = Silk.NET.Vulkan.Semaphore;

namespace Kiln.HostSample;

/// <summary>
/// VK_KHR_surface and VK_KHR_swapchain, loaded as unmanaged function pointers through vkGetInstanceProcAddr and
/// vkGetDeviceProcAddr (the Silk.NET.Vulkan core package has their structs but not their functions).
/// </summary>
internal sealed unsafe class KhrFunctions
{
    public readonly delegate* unmanaged<PhysicalDevice, uint, SurfaceKHR, Bool32*, Result> GetSurfaceSupport;
    public readonly delegate* unmanaged<PhysicalDevice, SurfaceKHR, SurfaceCapabilitiesKHR*, Result> GetSurfaceCapabilities;
    public readonly delegate* unmanaged<PhysicalDevice, SurfaceKHR, uint*, SurfaceFormatKHR*, Result> GetSurfaceFormats;
    public readonly delegate* unmanaged<PhysicalDevice, SurfaceKHR, uint*, PresentModeKHR*, Result> GetSurfacePresentModes;
    public readonly delegate* unmanaged<Instance, SurfaceKHR, AllocationCallbacks*, void> DestroySurface;
    delegate* unmanaged<Device, SwapchainCreateInfoKHR*, AllocationCallbacks*, SwapchainKHR*, Result> createSwapchain;
    delegate* unmanaged<Device, SwapchainKHR, AllocationCallbacks*, void> destroySwapchain;
    delegate* unmanaged<Device, SwapchainKHR, uint*, Image*, Result> getSwapchainImages;
    delegate* unmanaged<Device, SwapchainKHR, ulong, Semaphore, Fence, uint*, Result> acquireNextImage;
    delegate* unmanaged<Queue, PresentInfoKHR*, Result> queuePresent;

    /// <summary>Loads the instance-level (surface) functions; <see cref="LoadDevice"/> adds the swapchain's.</summary>
    public KhrFunctions(Vk vk, Instance instance)
    {
        GetSurfaceSupport = (delegate* unmanaged<PhysicalDevice, uint, SurfaceKHR, Bool32*, Result>)Instance(vk, instance, "vkGetPhysicalDeviceSurfaceSupportKHR");
        GetSurfaceCapabilities = (delegate* unmanaged<PhysicalDevice, SurfaceKHR, SurfaceCapabilitiesKHR*, Result>)Instance(vk, instance, "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
        GetSurfaceFormats = (delegate* unmanaged<PhysicalDevice, SurfaceKHR, uint*, SurfaceFormatKHR*, Result>)Instance(vk, instance, "vkGetPhysicalDeviceSurfaceFormatsKHR");
        GetSurfacePresentModes = (delegate* unmanaged<PhysicalDevice, SurfaceKHR, uint*, PresentModeKHR*, Result>)Instance(vk, instance, "vkGetPhysicalDeviceSurfacePresentModesKHR");
        DestroySurface = (delegate* unmanaged<Instance, SurfaceKHR, AllocationCallbacks*, void>)Instance(vk, instance, "vkDestroySurfaceKHR");
    }

    /// <summary>Loads the swapchain functions of <paramref name="device"/> (made with VK_KHR_swapchain).</summary>
    public void LoadDevice(Vk vk, Device device)
    {
        createSwapchain = (delegate* unmanaged<Device, SwapchainCreateInfoKHR*, AllocationCallbacks*, SwapchainKHR*, Result>)Device(vk, device, "vkCreateSwapchainKHR");
        destroySwapchain = (delegate* unmanaged<Device, SwapchainKHR, AllocationCallbacks*, void>)Device(vk, device, "vkDestroySwapchainKHR");
        getSwapchainImages = (delegate* unmanaged<Device, SwapchainKHR, uint*, Image*, Result>)Device(vk, device, "vkGetSwapchainImagesKHR");
        acquireNextImage = (delegate* unmanaged<Device, SwapchainKHR, ulong, Semaphore, Fence, uint*, Result>)Device(vk, device, "vkAcquireNextImageKHR");
        queuePresent = (delegate* unmanaged<Queue, PresentInfoKHR*, Result>)Device(vk, device, "vkQueuePresentKHR");
    }

    public Result CreateSwapchain(Device device, SwapchainCreateInfoKHR* info, SwapchainKHR* swapchain)
    {
        RequireDevice();
        return createSwapchain(device, info, null, swapchain);
    }

    public void DestroySwapchain(Device device, SwapchainKHR swapchain)
    {
        RequireDevice();
        destroySwapchain(device, swapchain, null);
    }

    public Result GetSwapchainImages(Device device, SwapchainKHR swapchain, uint* count, Image* images)
    {
        RequireDevice();
        return getSwapchainImages(device, swapchain, count, images);
    }

    public Result AcquireNextImage(Device device, SwapchainKHR swapchain, ulong timeout, Semaphore semaphore, uint* index)
    {
        RequireDevice();
        return acquireNextImage(device, swapchain, timeout, semaphore, default, index);
    }

    public Result QueuePresent(Queue queue, PresentInfoKHR* info)
    {
        RequireDevice();
        return queuePresent(queue, info);
    }

    void RequireDevice()
    {
        if (queuePresent == null) throw new InvalidOperationException("host sample: the swapchain functions were not loaded (LoadDevice).");
    }

    static void* Instance(Vk vk, Instance instance, string name) => NotNull(vk.GetInstanceProcAddr(instance, name).Handle, name);
    static void* Device(Vk vk, Device device, string name) => NotNull(vk.GetDeviceProcAddr(device, name).Handle, name);

    static void* NotNull(void* p, string name) =>
        p != null ? p : throw new InvalidOperationException($"host sample: the Vulkan loader has no {name} (is its extension enabled?).");
}
