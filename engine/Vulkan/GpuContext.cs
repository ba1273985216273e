using Kiln.Vulkan;
using Microsoft.Extensions.Logging;
using Silk.NET.Core;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln;

/// <summary>
/// One Vulkan device and compute queue, with Kiln's allocator, pipeline store and submissions on it.
/// Create one with <see cref="Create"/> (Kiln owns the instance and device) or <see cref="Adopt"/> (a host
/// application owns them; Kiln never destroys them). Everything else in Kiln hangs off a context.
/// </summary>
public sealed unsafe partial class GpuContext : IDisposable
{
    internal readonly Vk Vk;
    internal readonly Instance Instance;
    internal readonly PhysicalDevice PhysicalDevice;
    internal readonly Device Device;
    internal readonly Queue Queue;
    internal readonly uint QueueFamily;
    internal readonly ObjectRegistry Objects = new();
    internal readonly MemoryAllocator Allocator;
    internal readonly PipelineStore Pipelines;
    KernelTuner? tuner;
    readonly TimeSpan? tuningBudget;
    /// <summary>Tile-size choices per shape for this device, timed once and kept beside the pipeline cache (CompileOptions.Autotune).</summary>
    internal KernelTuner Tuner => LazyInitializer.EnsureInitialized(ref tuner, () => new KernelTuner(this, Pipelines.CacheDirectory) { Budget = tuningBudget });
    internal readonly SubmissionQueue Submissions;
    internal readonly Transfer Transfers;
    internal readonly Action<string> Log;
    /// <summary>vkQueueSubmit needs external synchronization of the queue.</summary>
    internal readonly object QueueGate = new();
    /// <summary>The host's wrapper around Kiln's queue submissions (<see cref="ContextOptions.QueueAccess"/>), or null.</summary>
    internal readonly Action<Action>? QueueAccess;
    readonly ValidationMessenger? messenger;
    /// <summary>Debug-utils names and labels, when the instance has the extension.</summary>
    internal readonly DebugUtils? Debug;
    readonly bool ownsDevice;
    int disposed;

    /// <summary>The device in use.</summary>
    public DeviceInfo Info { get; }
    /// <summary>True when the host application owns the device (<see cref="Adopt"/>).</summary>
    public bool IsAdopted => !ownsDevice;
    /// <summary>Whether the validation layer is on.</summary>
    public bool ValidationEnabled => messenger != null;
    /// <summary>Whether GPU timestamps are recorded around dispatches.</summary>
    public bool Profiling { get; }
    internal bool Float16Enabled { get; }
    internal bool Storage16Enabled { get; }
    internal bool CooperativeMatrixEnabled { get; }
    internal bool CooperativeMatrix2Enabled { get; }
    /// <summary>
    /// <see cref="Info"/> as kernels may use it: the optional features (fp16 arithmetic, 16-bit storage, cooperative
    /// matrices) only where this device was created with them enabled, which a host-owned device may not be (Kiln does
    /// not use cooperative_matrix2 on a host's device).
    /// </summary>
    internal DeviceInfo KernelDevice => Info with
    {
        ShaderFloat16 = Float16Enabled,
        StorageBuffer16BitAccess = Storage16Enabled,
        CooperativeMatrix = CooperativeMatrixEnabled,
        CooperativeMatrixShapes = CooperativeMatrixEnabled ? Info.CooperativeMatrixShapes : Array.Empty<string>(),
        CooperativeMatrix2 = CooperativeMatrix2Enabled,
        CooperativeMatrix2WorkgroupScope = CooperativeMatrix2Enabled && Info.CooperativeMatrix2WorkgroupScope,
        CooperativeMatrix2TensorAddressing = CooperativeMatrix2Enabled && Info.CooperativeMatrix2TensorAddressing,
        CooperativeMatrix2BlockLoads = CooperativeMatrix2Enabled && Info.CooperativeMatrix2BlockLoads,
    };

    /// <summary>Creates an instance and a device of Kiln's own.</summary>
    public static GpuContext Create(ContextOptions? options = null) => new(options ?? new ContextOptions(), null);

    /// <summary>
    /// Adopts a device that a host application created. Kiln records into the host's command buffers or
    /// submits to the given queue, and leaves the instance, device and queue alive when disposed.
    /// </summary>
    public static GpuContext Adopt(HostDevice host, ContextOptions? options = null)
    {
        if (host.Instance == 0 || host.PhysicalDevice == 0 || host.Device == 0 || host.Queue == 0)
            throw new ArgumentException("HostDevice: instance, physical device, device and queue must all be set.", nameof(host));
        return new GpuContext(options ?? new ContextOptions(), host);
    }

    /// <summary>Lists the Vulkan devices on this machine without creating one.</summary>
    public static IReadOnlyList<DeviceInfo> EnumerateDevices()
    {
        var vk = Vk.GetApi();
        var instance = CreateInstance(vk, false, false, out _);
        try { return Describe(vk, instance); }
        finally { vk.DestroyInstance(instance, null); vk.Dispose(); }
    }

    /// <summary>The device <see cref="Create"/> would choose (KILN_DEVICE, else discrete, integrated, CPU), without creating it.</summary>
    public static DeviceInfo ChooseDevice(string? selector = null)
    {
        var devices = EnumerateDevices();
        return devices[DeviceQuery.Choose(devices, selector ?? Environment.GetEnvironmentVariable("KILN_DEVICE"))];
    }

    /// <summary>KILN_TUNING_BUDGET (seconds) where <see cref="ContextOptions.TuningBudget"/> is null: a cap for scripts that run
    /// several commands on a new device. Unset or empty: none.</summary>
    static TimeSpan? TuningBudgetFromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("KILN_TUNING_BUDGET");
        if (string.IsNullOrWhiteSpace(text)) return null;
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s >= 0 && double.IsFinite(s)
            ? TimeSpan.FromSeconds(s)
            : throw new ArgumentException($"KILN_TUNING_BUDGET takes seconds (a number >= 0), got '{text}'.");
    }

    /// <summary>How an adopted device is named where it cannot run Kiln (<see cref="DeviceQuery.RequireMinimumApi"/>).</summary>
    internal const string HostDeviceContext = "GpuContext.Adopt: the host's device";

    GpuContext(ContextOptions options, HostDevice? host)
    {
        Log = options.Log ?? (options.Logger is { } logger
            ? s => logger.LogWarning("{KilnMessage}", s)
            : s => Console.Error.WriteLine("kiln: " + s));
        QueueAccess = options.QueueAccess;
        if (options.TuningBudget is { } budget && budget < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), $"ContextOptions.TuningBudget can't be negative, got {budget}.");
        tuningBudget = options.TuningBudget ?? TuningBudgetFromEnvironment();
        bool validation = options.Validation ?? Environment.GetEnvironmentVariable("KILN_VALIDATION") == "1";
        Profiling = options.Profiling;
        Vk = Vk.GetApi();
        try
        {
            if (host is { } h)
            {
                ownsDevice = false;
                Instance = new Instance(h.Instance);
                PhysicalDevice = new PhysicalDevice(h.PhysicalDevice);
                Device = new Device(h.Device);
                Queue = new Queue(h.Queue);
                QueueFamily = h.QueueFamilyIndex;
                Vk.CurrentInstance = Instance;
                Vk.CurrentDevice = Device;
                Info = DeviceQuery.Describe(Vk, Instance, PhysicalDevice, IndexOf(PhysicalDevice));
                DeviceQuery.RequireMinimumApi(Info, HostDeviceContext);
                // The layer (if the host loaded it) reports through the host's messenger; Kiln adds its own
                // when the host's instance has debug utils, so Kiln's tests see the messages too.
                if (validation && (nint)Vk.GetInstanceProcAddr(Instance, "vkCreateDebugUtilsMessengerEXT") != 0)
                    messenger = new ValidationMessenger(Vk, Instance, Log);
                Float16Enabled = (h.EnabledFeatures & HostDeviceFeatures.ShaderFloat16) != 0;
                Storage16Enabled = (h.EnabledFeatures & HostDeviceFeatures.StorageBuffer16BitAccess) != 0;
                CooperativeMatrixEnabled = (h.EnabledFeatures & HostDeviceFeatures.CooperativeMatrix) != 0;
                if ((h.EnabledFeatures & HostDeviceFeatures.DebugUtils) != 0) Debug = DebugUtils.Load(Vk, Instance, Device);
            }
            else
            {
                ownsDevice = true;
                Instance = CreateInstance(Vk, validation, options.SynchronizationValidation, out bool haveDebugUtils);
                Vk.CurrentInstance = Instance;
                if (validation && haveDebugUtils) messenger = new ValidationMessenger(Vk, Instance, Log);
                var devices = Describe(Vk, Instance);
                int chosen = DeviceQuery.Choose(devices, options.Device ?? Environment.GetEnvironmentVariable("KILN_DEVICE"));
                Info = devices[chosen];
                PhysicalDevice = PhysicalDeviceOf(chosen);
                QueueFamily = FindComputeQueueFamily(Vk, PhysicalDevice);
                Device = CreateDevice(out bool f16, out bool s16, out bool coop, out bool coop2);
                Float16Enabled = f16;
                Storage16Enabled = s16;
                CooperativeMatrixEnabled = coop;
                CooperativeMatrix2Enabled = coop2;
                Vk.CurrentDevice = Device;
                Queue q;
                Vk.GetDeviceQueue(Device, QueueFamily, 0, &q);
                Queue = q;
                if (haveDebugUtils) Debug = DebugUtils.Load(Vk, Instance, Device);
            }
            Allocator = new MemoryAllocator(this, options.MemoryLimitBytes, options.BlockBytes);
            Pipelines = new PipelineStore(this, PipelineCacheFile.ResolveDirectory(options.PipelineCacheDirectory));
            Submissions = new SubmissionQueue(this);
            Transfers = new Transfer(this);
        }
        catch
        {
            DisposeCore();
            throw;
        }
    }

    PhysicalDevice[] PhysicalDevices()
    {
        uint n = 0;
        Vk.EnumeratePhysicalDevices(Instance, &n, null);
        var pds = new PhysicalDevice[n];
        fixed (PhysicalDevice* p = pds) Vk.EnumeratePhysicalDevices(Instance, &n, p);
        return pds;
    }

    PhysicalDevice PhysicalDeviceOf(int index) => PhysicalDevices()[index];

    int IndexOf(PhysicalDevice pd) => Array.FindIndex(PhysicalDevices(), x => x.Handle == pd.Handle);

    static List<DeviceInfo> Describe(Vk vk, Instance instance)
    {
        uint n = 0;
        VulkanException.Check(vk.EnumeratePhysicalDevices(instance, &n, null), "vkEnumeratePhysicalDevices");
        var pds = new PhysicalDevice[n];
        fixed (PhysicalDevice* p = pds) vk.EnumeratePhysicalDevices(instance, &n, p);
        return pds.Select((pd, i) => DeviceQuery.Describe(vk, instance, pd, i)).ToList();
    }

    static Instance CreateInstance(Vk vk, bool validation, bool syncValidation, out bool debugUtils)
    {
        var layers = new List<string>();
        var extensions = new List<string>();
        var available = InstanceExtensions(vk);
        if (validation)
        {
            if (!InstanceLayers(vk).Contains("VK_LAYER_KHRONOS_validation"))
                throw new KilnException("Validation was asked for (KILN_VALIDATION=1) but VK_LAYER_KHRONOS_validation is not installed: 'apt-get install vulkan-validationlayers'.");
            layers.Add("VK_LAYER_KHRONOS_validation");
        }
        debugUtils = validation && available.Contains("VK_EXT_debug_utils");
        if (debugUtils) extensions.Add("VK_EXT_debug_utils");
        bool features = validation && syncValidation;
        if (features) extensions.Add("VK_EXT_validation_features");

        var appName = (byte*)SilkMarshal.StringToPtr("Kiln");
        var app = new ApplicationInfo
        {
            SType = StructureType.ApplicationInfo,
            PApplicationName = appName,
            PEngineName = appName,
            // The highest version Kiln uses: 1.3 where the device has it (SPIR-V 1.6, which cooperative_matrix2 shaders
            // need); every other module is SPIR-V 1.5 and runs on a Vulkan 1.2 device.
            ApiVersion = Vk.Version13,
        };
        var layerPtrs = (byte**)SilkMarshal.StringArrayToPtr(layers);
        var extPtrs = (byte**)SilkMarshal.StringArrayToPtr(extensions);
        try
        {
            var enables = stackalloc ValidationFeatureEnableEXT[] { ValidationFeatureEnableEXT.SynchronizationValidationExt };
            var vfeatures = new ValidationFeaturesEXT
            {
                SType = StructureType.ValidationFeaturesExt,
                EnabledValidationFeatureCount = 1,
                PEnabledValidationFeatures = enables,
            };
            var info = new InstanceCreateInfo
            {
                SType = StructureType.InstanceCreateInfo,
                PApplicationInfo = &app,
                EnabledLayerCount = (uint)layers.Count,
                PpEnabledLayerNames = layerPtrs,
                EnabledExtensionCount = (uint)extensions.Count,
                PpEnabledExtensionNames = extPtrs,
                PNext = features ? &vfeatures : null,
            };
            Instance instance;
            var r = vk.CreateInstance(&info, null, &instance);
            if (r == Result.ErrorIncompatibleDriver || r == Result.ErrorInitializationFailed)
                throw new KilnException($"vkCreateInstance failed with {r}: no usable Vulkan driver. On Debian, 'apt-get install mesa-vulkan-drivers libvulkan1' provides a CPU device.");
            VulkanException.Check(r, "vkCreateInstance");
            return instance;
        }
        finally
        {
            SilkMarshal.Free((nint)appName);
            SilkMarshal.Free((nint)layerPtrs);
            SilkMarshal.Free((nint)extPtrs);
        }
    }

    static HashSet<string> InstanceExtensions(Vk vk)
    {
        uint n = 0;
        vk.EnumerateInstanceExtensionProperties((byte*)null, &n, null);
        var props = new ExtensionProperties[n];
        fixed (ExtensionProperties* p = props) vk.EnumerateInstanceExtensionProperties((byte*)null, &n, p);
        return props.Select(e => SilkMarshal.PtrToString((nint)e.ExtensionName)!).ToHashSet();
    }

    static HashSet<string> InstanceLayers(Vk vk)
    {
        uint n = 0;
        vk.EnumerateInstanceLayerProperties(&n, null);
        var props = new LayerProperties[n];
        fixed (LayerProperties* p = props) vk.EnumerateInstanceLayerProperties(&n, p);
        return props.Select(e => SilkMarshal.PtrToString((nint)e.LayerName)!).ToHashSet();
    }

    static uint FindComputeQueueFamily(Vk vk, PhysicalDevice pd)
    {
        uint n = 0;
        vk.GetPhysicalDeviceQueueFamilyProperties(pd, &n, null);
        var fams = new QueueFamilyProperties[n];
        fixed (QueueFamilyProperties* p = fams) vk.GetPhysicalDeviceQueueFamilyProperties(pd, &n, p);
        // Prefer a family with compute and timestamps; a dedicated compute family is fine too.
        for (uint i = 0; i < n; i++)
            if ((fams[i].QueueFlags & QueueFlags.ComputeBit) != 0 && fams[i].TimestampValidBits > 0) return i;
        for (uint i = 0; i < n; i++)
            if ((fams[i].QueueFlags & QueueFlags.ComputeBit) != 0) return i;
        throw new KilnException("The Vulkan device has no compute queue.");
    }

    Device CreateDevice(out bool f16, out bool s16, out bool coop, out bool coop2)
    {
        var ext = DeviceQuery.Extensions(Vk, PhysicalDevice);
        var wanted = new List<string>();
        if (ext.Contains("VK_EXT_memory_budget")) wanted.Add("VK_EXT_memory_budget");
        coop = Info.CooperativeMatrix && Info.ShaderFloat16 && Info.StorageBuffer16BitAccess;
        if (coop) wanted.Add("VK_KHR_cooperative_matrix");
        coop2 = coop && Info.CooperativeMatrix2;
        if (coop2) wanted.Add("VK_NV_cooperative_matrix2");

        float priority = 1f;
        var queueInfo = new DeviceQueueCreateInfo
        {
            SType = StructureType.DeviceQueueCreateInfo,
            QueueFamilyIndex = QueueFamily,
            QueueCount = 1,
            PQueuePriorities = &priority,
        };
        f16 = Info.ShaderFloat16;
        s16 = Info.StorageBuffer16BitAccess;
        // cooperative_matrix2: the features Conv2dCoopMat2 uses, workgroup scope, tensor addressing and block loads where the
        // device has them.
        var coop2Features = new PhysicalDeviceCooperativeMatrix2FeaturesNV
        {
            SType = StructureType.PhysicalDeviceCooperativeMatrix2FeaturesNV,
            CooperativeMatrixFlexibleDimensions = true,
            CooperativeMatrixPerElementOperations = true,
            CooperativeMatrixConversions = true,
            CooperativeMatrixWorkgroupScope = Info.CooperativeMatrix2WorkgroupScope,
            CooperativeMatrixTensorAddressing = Info.CooperativeMatrix2TensorAddressing,
            CooperativeMatrixBlockLoads = Info.CooperativeMatrix2BlockLoads,
        };
        var coopFeatures = new PhysicalDeviceCooperativeMatrixFeaturesKHR
        {
            SType = StructureType.PhysicalDeviceCooperativeMatrixFeaturesKhr,
            CooperativeMatrix = true,
            PNext = coop2 ? &coop2Features : null,
        };
        // SPIR-V 1.6 modules (cooperative_matrix2) take their workgroup size through LocalSizeId: maintenance4.
        var v13 = new PhysicalDeviceVulkan13Features
        {
            SType = StructureType.PhysicalDeviceVulkan13Features,
            Maintenance4 = true,
            PNext = coop ? &coopFeatures : null,
        };
        var v12 = new PhysicalDeviceVulkan12Features
        {
            SType = StructureType.PhysicalDeviceVulkan12Features,
            ShaderFloat16 = f16,
            VulkanMemoryModel = coop,
            PNext = coop2 ? &v13 : coop ? &coopFeatures : null,
        };
        var v11 = new PhysicalDeviceVulkan11Features
        {
            SType = StructureType.PhysicalDeviceVulkan11Features,
            StorageBuffer16BitAccess = s16,
            PNext = &v12,
        };
        var features = new PhysicalDeviceFeatures2 { SType = StructureType.PhysicalDeviceFeatures2, PNext = &v11 };
        var extPtrs = (byte**)SilkMarshal.StringArrayToPtr(wanted);
        try
        {
            var info = new DeviceCreateInfo
            {
                SType = StructureType.DeviceCreateInfo,
                PNext = &features,
                QueueCreateInfoCount = 1,
                PQueueCreateInfos = &queueInfo,
                EnabledExtensionCount = (uint)wanted.Count,
                PpEnabledExtensionNames = extPtrs,
            };
            Device device;
            VulkanException.Check(Vk.CreateDevice(PhysicalDevice, &info, null, &device), "vkCreateDevice");
            return device;
        }
        finally { SilkMarshal.Free((nint)extPtrs); }
    }

    /// <summary>Validation messages (warnings and errors) since the last call; empty when validation is off.</summary>
    public IReadOnlyList<string> TakeValidationMessages() => messenger?.Take() ?? new List<string>();

    /// <summary>
    /// Vulkan objects Kiln created on this device that are still alive, other than the context's own
    /// (pipelines, caches, pools): after every tensor and command list is disposed and its work has
    /// completed, this is empty.
    /// </summary>
    public IReadOnlyList<string> LiveObjects()
    {
        Submissions.Collect();
        return Objects.Live();
    }

    /// <summary>Kiln objects named and command-buffer labels recorded through VK_EXT_debug_utils (zero when it is off).</summary>
    public (int ObjectsNamed, int LabelsRecorded) DebugUtilsCounts => Debug?.Counts ?? (0, 0);

    /// <summary>Bytes currently sub-allocated to tensors and buffers.</summary>
    public long AllocatedBytes => Allocator.AllocatedBytes;

    /// <summary>Waits for every submission Kiln made to finish and releases what they kept alive.</summary>
    public void WaitIdle() => Submissions.WaitAll();

    internal void ThrowIfDisposed()
    {
        if (Volatile.Read(ref disposed) != 0) throw new ObjectDisposedException(nameof(GpuContext));
    }

    /// <summary>Waits for Kiln's work, frees everything Kiln created, and (unless adopted) the device and instance.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        DisposeCore();
    }

    void DisposeCore()
    {
        if (Device.Handle != 0)
        {
            try { Submissions?.WaitAll(); } catch (KilnException e) { Log(e.Message); }
            if (ownsDevice) Vk.DeviceWaitIdle(Device);
        }
        Transfers?.Dispose();
        Submissions?.Dispose();
        Pipelines?.Dispose();
        Allocator?.Dispose();
        var leaked = Objects.Live();
        if (leaked.Count > 0)
            Log($"{leaked.Count} Vulkan object(s) were still alive when the context was disposed: {string.Join("; ", leaked.Take(10))}");
        if (ownsDevice && Device.Handle != 0) Vk.DestroyDevice(Device, null);
        messenger?.Dispose();
        if (ownsDevice && Instance.Handle != 0) Vk.DestroyInstance(Instance, null);
        Vk.Dispose();
    }
}
