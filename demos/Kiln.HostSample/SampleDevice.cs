using System.Runtime.InteropServices;
using Silk.NET.Core;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;
using Semaphore = Silk.NET.Vulkan.Semaphore;

namespace Kiln.HostSample;

/// <summary>
/// The sample engine's own Vulkan 1.3 instance, device (dynamic rendering enabled), graphics-and-compute queue,
/// command pool, one command buffer and one fence, made with raw Silk.NET as any engine makes them. With
/// validation asked for, the instance enables the Khronos validation layer with synchronization validation and
/// a debug-utils messenger that collects every warning and error (Kiln's calls on this device included).
/// With a window, the instance also enables the window's surface extensions, the device VK_KHR_swapchain, the
/// queue family must be able to present to the window's surface, and the surface is made and destroyed here.
/// </summary>
internal sealed unsafe class SampleDevice : IDisposable
{
    public readonly Vk Vk;
    public readonly Instance Instance;
    public readonly PhysicalDevice PhysicalDevice;
    public readonly uint QueueFamily;
    public readonly Device Device;
    public readonly Queue Queue;
    public readonly CommandPool Pool;
    public readonly CommandBuffer Command;
    public readonly Fence Fence;
    public readonly bool Validation;
    /// <summary>The window's surface (null handle when headless).</summary>
    public readonly SurfaceKHR Surface;
    /// <summary>The surface and swapchain functions (null when headless).</summary>
    public readonly KhrFunctions? Khr;
    readonly DebugUtilsMessengerEXT messenger;
    readonly GCHandle self;
    readonly List<string> messages = new();
    readonly delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void> destroyMessenger;

    public SampleDevice(bool validation, SampleWindow? window = null)
    {
        Vk = Vk.GetApi();
        Validation = validation;
        self = GCHandle.Alloc(this);
        var layers = validation ? new[] { "VK_LAYER_KHRONOS_validation" } : Array.Empty<string>();
        var extensions = (validation ? new[] { "VK_EXT_debug_utils", "VK_EXT_validation_features" } : Array.Empty<string>())
            .Concat(window?.RequiredInstanceExtensions ?? Array.Empty<string>()).ToArray();
        var name = (byte*)SilkMarshal.StringToPtr("Kiln host sample");
        var layerPtrs = (byte**)SilkMarshal.StringArrayToPtr(layers);
        var extPtrs = (byte**)SilkMarshal.StringArrayToPtr(extensions);
        try
        {
            var app = new ApplicationInfo { SType = StructureType.ApplicationInfo, PApplicationName = name, PEngineName = name, ApiVersion = Vk.Version13 };
            var enables = stackalloc ValidationFeatureEnableEXT[] { ValidationFeatureEnableEXT.SynchronizationValidationExt };
            var messengerInfo = MessengerInfo();
            var features = new ValidationFeaturesEXT
            {
                SType = StructureType.ValidationFeaturesExt,
                EnabledValidationFeatureCount = 1,
                PEnabledValidationFeatures = enables,
                PNext = &messengerInfo,
            };
            var info = new InstanceCreateInfo
            {
                SType = StructureType.InstanceCreateInfo,
                PNext = validation ? &features : null,
                PApplicationInfo = &app,
                EnabledLayerCount = (uint)layers.Length,
                PpEnabledLayerNames = layerPtrs,
                EnabledExtensionCount = (uint)extensions.Length,
                PpEnabledExtensionNames = extPtrs,
            };
            Instance instance;
            Check(Vk.CreateInstance(&info, null, &instance), "vkCreateInstance");
            Instance = instance;
            Vk.CurrentInstance = instance;
            if (validation)
            {
                var create = (delegate* unmanaged<Instance, DebugUtilsMessengerCreateInfoEXT*, AllocationCallbacks*, DebugUtilsMessengerEXT*, Result>)
                    (nint)Vk.GetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
                destroyMessenger = (delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void>)
                    (nint)Vk.GetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT");
                DebugUtilsMessengerEXT m;
                Check(create(instance, &messengerInfo, null, &m), "vkCreateDebugUtilsMessengerEXT");
                messenger = m;
            }
            if (window != null)
            {
                Khr = new KhrFunctions(Vk, instance);
                try { Surface = window.CreateSurface(instance); }
                catch { DestroyInstance(); throw; }
            }
        }
        finally
        {
            SilkMarshal.Free((nint)name);
            SilkMarshal.Free((nint)layerPtrs);
            SilkMarshal.Free((nint)extPtrs);
        }

        // The first device with a queue family that does graphics and compute, and Vulkan 1.3.
        uint count = 0;
        Vk.EnumeratePhysicalDevices(Instance, &count, null);
        var pds = new PhysicalDevice[count];
        fixed (PhysicalDevice* p = pds) Check(Vk.EnumeratePhysicalDevices(Instance, &count, p), "vkEnumeratePhysicalDevices");
        int family = -1;
        foreach (var pd in pds)
        {
            PhysicalDeviceProperties props;
            Vk.GetPhysicalDeviceProperties(pd, &props);
            if (props.ApiVersion < Vk.Version13) continue;
            uint families = 0;
            Vk.GetPhysicalDeviceQueueFamilyProperties(pd, &families, null);
            var fprops = new QueueFamilyProperties[families];
            fixed (QueueFamilyProperties* p = fprops) Vk.GetPhysicalDeviceQueueFamilyProperties(pd, &families, p);
            family = Enumerable.Range(0, fprops.Length).Where(i => (fprops[i].QueueFlags & (QueueFlags.GraphicsBit | QueueFlags.ComputeBit)) == (QueueFlags.GraphicsBit | QueueFlags.ComputeBit))
                .Where(i => window == null || CanPresent(pd, (uint)i)).DefaultIfEmpty(-1).First();
            if (family >= 0) { PhysicalDevice = pd; break; }
        }
        if (family < 0)
        {
            DestroyInstance();
            throw new InvalidOperationException($"host sample: no Vulkan 1.3 device with a graphics and compute queue{(window != null ? " that can present to the window" : "")}.");
        }
        QueueFamily = (uint)family;

        float priority = 1;
        var queueInfo = new DeviceQueueCreateInfo { SType = StructureType.DeviceQueueCreateInfo, QueueFamilyIndex = QueueFamily, QueueCount = 1, PQueuePriorities = &priority };
        var vk13 = new PhysicalDeviceVulkan13Features { SType = StructureType.PhysicalDeviceVulkan13Features, DynamicRendering = true };
        var swapchainExtension = (byte*)SilkMarshal.StringToPtr("VK_KHR_swapchain");
        var deviceInfo = new DeviceCreateInfo
        {
            SType = StructureType.DeviceCreateInfo,
            PNext = &vk13,
            QueueCreateInfoCount = 1,
            PQueueCreateInfos = &queueInfo,
            EnabledExtensionCount = window != null ? 1u : 0u,
            PpEnabledExtensionNames = &swapchainExtension,
        };
        Device device;
        try { Check(Vk.CreateDevice(PhysicalDevice, &deviceInfo, null, &device), "vkCreateDevice"); }
        catch { DestroyInstance(); throw; }
        finally { SilkMarshal.Free((nint)swapchainExtension); }
        Device = device;
        Khr?.LoadDevice(Vk, device);
        Vk.CurrentDevice = device;
        Queue queue;
        Vk.GetDeviceQueue(Device, QueueFamily, 0, &queue);
        Queue = queue;

        var poolInfo = new CommandPoolCreateInfo { SType = StructureType.CommandPoolCreateInfo, QueueFamilyIndex = QueueFamily, Flags = CommandPoolCreateFlags.ResetCommandBufferBit };
        CommandPool pool;
        Check(Vk.CreateCommandPool(Device, &poolInfo, null, &pool), "vkCreateCommandPool");
        Pool = pool;
        var alloc = new CommandBufferAllocateInfo { SType = StructureType.CommandBufferAllocateInfo, CommandPool = Pool, Level = CommandBufferLevel.Primary, CommandBufferCount = 1 };
        CommandBuffer cmd;
        Check(Vk.AllocateCommandBuffers(Device, &alloc, &cmd), "vkAllocateCommandBuffers");
        Command = cmd;
        var fenceInfo = new FenceCreateInfo { SType = StructureType.FenceCreateInfo };
        Fence f;
        Check(Vk.CreateFence(Device, &fenceInfo, null, &f), "vkCreateFence");
        Fence = f;
    }

    /// <summary>What Kiln adopts.</summary>
    public Kiln.HostDevice Handles => new(Instance.Handle, PhysicalDevice.Handle, Device.Handle, QueueFamily, Queue.Handle,
        Validation ? Kiln.HostDeviceFeatures.DebugUtils : Kiln.HostDeviceFeatures.None);

    /// <summary>Every validation warning and error so far (empty without validation).</summary>
    public IReadOnlyList<string> Messages
    {
        get { lock (messages) return messages.ToList(); }
    }

    public void Begin()
    {
        Check(Vk.ResetCommandBuffer(Command, 0), "vkResetCommandBuffer");
        var begin = new CommandBufferBeginInfo { SType = StructureType.CommandBufferBeginInfo, Flags = CommandBufferUsageFlags.OneTimeSubmitBit };
        Check(Vk.BeginCommandBuffer(Command, &begin), "vkBeginCommandBuffer");
    }

    /// <summary>
    /// Ends the command buffer, submits it with the fence and waits for it (one frame in flight). With a window the
    /// submission waits on <paramref name="wait"/> (the acquired image) at <paramref name="waitStage"/> and signals
    /// <paramref name="signal"/> (for the present).
    /// </summary>
    public void EndSubmitWait(Semaphore wait = default, PipelineStageFlags waitStage = 0, Semaphore signal = default)
    {
        Check(Vk.EndCommandBuffer(Command), "vkEndCommandBuffer");
        var cmd = Command;
        var submit = new SubmitInfo
        {
            SType = StructureType.SubmitInfo,
            CommandBufferCount = 1,
            PCommandBuffers = &cmd,
            WaitSemaphoreCount = wait.Handle != 0 ? 1u : 0u,
            PWaitSemaphores = &wait,
            PWaitDstStageMask = &waitStage,
            SignalSemaphoreCount = signal.Handle != 0 ? 1u : 0u,
            PSignalSemaphores = &signal,
        };
        Check(Vk.QueueSubmit(Queue, 1, &submit, Fence), "vkQueueSubmit");
        var f = Fence;
        Check(Vk.WaitForFences(Device, 1, &f, true, 120_000_000_000UL), "vkWaitForFences");
        Check(Vk.ResetFences(Device, 1, &f), "vkResetFences");
    }

    public uint MemoryType(uint typeBits, MemoryPropertyFlags flags)
    {
        PhysicalDeviceMemoryProperties props;
        Vk.GetPhysicalDeviceMemoryProperties(PhysicalDevice, &props);
        for (uint i = 0; i < props.MemoryTypeCount; i++)
            if ((typeBits & (1u << (int)i)) != 0 && (props.MemoryTypes[(int)i].PropertyFlags & flags) == flags) return i;
        throw new InvalidOperationException($"host sample: no memory type with {flags}");
    }

    public void Dispose()
    {
        Vk.DeviceWaitIdle(Device);
        Vk.DestroyFence(Device, Fence, null);
        Vk.DestroyCommandPool(Device, Pool, null);
        Vk.DestroyDevice(Device, null);
        DestroyInstance();
    }

    bool CanPresent(PhysicalDevice pd, uint family)
    {
        Bool32 supported;
        Check(Khr!.GetSurfaceSupport(pd, family, Surface, &supported), "vkGetPhysicalDeviceSurfaceSupportKHR");
        return supported;
    }

    void DestroyInstance()
    {
        if (Khr != null && Surface.Handle != 0) Khr.DestroySurface(Instance, Surface, null);
        if (Validation) destroyMessenger(Instance, messenger, null);
        Vk.DestroyInstance(Instance, null);
        Vk.Dispose();
        self.Free();
    }

    public static void Check(Result r, string call)
    {
        if (r != Result.Success) throw new InvalidOperationException($"host sample: {call} failed with {r}");
    }

    DebugUtilsMessengerCreateInfoEXT MessengerInfo() => new()
    {
        SType = StructureType.DebugUtilsMessengerCreateInfoExt,
        MessageSeverity = DebugUtilsMessageSeverityFlagsEXT.WarningBitExt | DebugUtilsMessageSeverityFlagsEXT.ErrorBitExt,
        MessageType = DebugUtilsMessageTypeFlagsEXT.GeneralBitExt | DebugUtilsMessageTypeFlagsEXT.ValidationBitExt | DebugUtilsMessageTypeFlagsEXT.PerformanceBitExt,
        PfnUserCallback = new PfnDebugUtilsMessengerCallbackEXT(&Callback),
        PUserData = (void*)GCHandle.ToIntPtr(self),
    };

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    static Bool32 Callback(DebugUtilsMessageSeverityFlagsEXT severity, DebugUtilsMessageTypeFlagsEXT type, DebugUtilsMessengerCallbackDataEXT* data, void* user)
    {
        var text = $"validation ({severity}): {SilkMarshal.PtrToString((nint)data->PMessage)}";
        if (user != null && GCHandle.FromIntPtr((nint)user).Target is SampleDevice d)
            lock (d.messages) d.messages.Add(text);
        Console.Error.WriteLine(text);
        return new Bool32(false);
    }
}
