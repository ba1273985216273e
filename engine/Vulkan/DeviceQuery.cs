using System.Runtime.InteropServices;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>Reads a physical device's properties and features into a <see cref="DeviceInfo"/>, and chooses a device.</summary>
internal static unsafe class DeviceQuery
{
    public static HashSet<string> Extensions(Vk vk, PhysicalDevice pd)
    {
        uint n = 0;
        vk.EnumerateDeviceExtensionProperties(pd, (byte*)null, &n, null);
        var props = new ExtensionProperties[n];
        fixed (ExtensionProperties* p = props) vk.EnumerateDeviceExtensionProperties(pd, (byte*)null, &n, p);
        var set = new HashSet<string>();
        foreach (var e in props) set.Add(SilkMarshal.PtrToString((nint)e.ExtensionName)!);
        return set;
    }

    public static DeviceInfo Describe(Vk vk, Instance instance, PhysicalDevice pd, int index)
    {
        var ext = Extensions(vk, pd);
        var subgroup = new PhysicalDeviceSubgroupProperties { SType = StructureType.PhysicalDeviceSubgroupProperties };
        var idProps = new PhysicalDeviceIDProperties { SType = StructureType.PhysicalDeviceIDProperties, PNext = &subgroup };
        var driver = new PhysicalDeviceDriverProperties { SType = StructureType.PhysicalDeviceDriverProperties, PNext = &idProps };
        var props2 = new PhysicalDeviceProperties2 { SType = StructureType.PhysicalDeviceProperties2, PNext = &driver };
        vk.GetPhysicalDeviceProperties2(pd, &props2);
        var p = props2.Properties;
        var api = new Version((int)(p.ApiVersion >> 22) & 0x7f, (int)(p.ApiVersion >> 12) & 0x3ff, (int)p.ApiVersion & 0xfff);

        // An extension's feature structure is chained only where the device has the extension (or the core version).
        bool coopExtension = ext.Contains("VK_KHR_cooperative_matrix");
        bool v13 = p.ApiVersion >= Vk.Version13;
        var coopFeature = new PhysicalDeviceCooperativeMatrixFeaturesKHR { SType = StructureType.PhysicalDeviceCooperativeMatrixFeaturesKhr };
        var maintenance4 = new PhysicalDeviceMaintenance4Features { SType = StructureType.PhysicalDeviceMaintenance4Features, PNext = coopExtension ? &coopFeature : null };
        var memoryModel = new PhysicalDeviceVulkanMemoryModelFeatures
        {
            SType = StructureType.PhysicalDeviceVulkanMemoryModelFeatures,
            PNext = v13 ? &maintenance4 : coopExtension ? &coopFeature : null,
        };
        // The memory model's structure is Vulkan 1.2's (an older device is listed, not used: DeviceInfo.MinimumApi).
        var f16 = new PhysicalDeviceShaderFloat16Int8Features
        {
            SType = StructureType.PhysicalDeviceShaderFloat16Int8Features,
            PNext = p.ApiVersion >= Vk.Version12 ? &memoryModel : null,
        };
        var s16 = new PhysicalDevice16BitStorageFeatures { SType = StructureType.PhysicalDevice16BitStorageFeatures, PNext = &f16 };
        var feats2 = new PhysicalDeviceFeatures2 { SType = StructureType.PhysicalDeviceFeatures2, PNext = &s16 };
        vk.GetPhysicalDeviceFeatures2(pd, &feats2);

        PhysicalDeviceMemoryProperties mem;
        vk.GetPhysicalDeviceMemoryProperties(pd, &mem);
        var heaps = new List<MemoryHeapInfo>();
        for (int i = 0; i < mem.MemoryHeapCount; i++)
            heaps.Add(new MemoryHeapInfo(i, mem.MemoryHeaps[i].Size, (mem.MemoryHeaps[i].Flags & MemoryHeapFlags.DeviceLocalBit) != 0));

        string? coopUnavailable = CooperativeMatrixUnavailable(coopExtension, coopFeature.CooperativeMatrix, memoryModel.VulkanMemoryModel);
        bool coop = coopExtension && coopUnavailable == null;
        var shapes = coop ? CooperativeMatrixShapes(vk, instance, pd) : new List<string>();
        // cooperative_matrix2 shaders are SPIR-V 1.6 with LocalSizeId: Vulkan 1.3 and maintenance4.
        var coop2 = coop && ext.Contains("VK_NV_cooperative_matrix2") && v13 && maintenance4.Maintenance4 ? CooperativeMatrix2(vk, instance, pd) : null;

        return new DeviceInfo
        {
            Index = index,
            Name = SilkMarshal.PtrToString((nint)p.DeviceName)!,
            Type = p.DeviceType switch
            {
                PhysicalDeviceType.DiscreteGpu => "DiscreteGpu",
                PhysicalDeviceType.IntegratedGpu => "IntegratedGpu",
                PhysicalDeviceType.VirtualGpu => "VirtualGpu",
                PhysicalDeviceType.Cpu => "Cpu",
                _ => "Other",
            },
            ApiVersion = api.ToString(),
            Api = api,
            DriverVersion = p.DriverVersion,
            DriverName = SilkMarshal.PtrToString((nint)driver.DriverName) ?? "",
            DriverInfo = SilkMarshal.PtrToString((nint)driver.DriverInfo) ?? "",
            VendorId = p.VendorID,
            DeviceId = p.DeviceID,
            DeviceUuid = new Guid(new ReadOnlySpan<byte>(idProps.DeviceUuid, 16)),
            PipelineCacheUuid = new Guid(new ReadOnlySpan<byte>(p.PipelineCacheUuid, 16)),
            SubgroupSize = subgroup.SubgroupSize,
            MaxSharedMemoryBytes = p.Limits.MaxComputeSharedMemorySize,
            MaxPushConstantsBytes = p.Limits.MaxPushConstantsSize,
            MaxWorkgroupInvocations = p.Limits.MaxComputeWorkGroupInvocations,
            MaxWorkgroupSize = new[] { p.Limits.MaxComputeWorkGroupSize[0], p.Limits.MaxComputeWorkGroupSize[1], p.Limits.MaxComputeWorkGroupSize[2] },
            MaxWorkgroupCount = new[] { p.Limits.MaxComputeWorkGroupCount[0], p.Limits.MaxComputeWorkGroupCount[1], p.Limits.MaxComputeWorkGroupCount[2] },
            MaxStorageBufferRange = p.Limits.MaxStorageBufferRange,
            MinStorageBufferOffsetAlignment = p.Limits.MinStorageBufferOffsetAlignment,
            MinTexelBufferOffsetAlignment = p.Limits.MinTexelBufferOffsetAlignment,
            MaxTexelBufferElements = p.Limits.MaxTexelBufferElements,
            MaxUniformBufferRange = p.Limits.MaxUniformBufferRange,
            TimestampPeriodNs = p.Limits.TimestampComputeAndGraphics ? p.Limits.TimestampPeriod : 0,
            ShaderFloat16 = f16.ShaderFloat16,
            StorageBuffer16BitAccess = s16.StorageBuffer16BitAccess,
            CooperativeMatrix = coop,
            CooperativeMatrixUnavailable = coopUnavailable,
            CooperativeMatrixShapes = shapes,
            CooperativeMatrix2 = coop2 is { KernelFeatures: true },
            CooperativeMatrix2WorkgroupScope = coop2 is { KernelFeatures: true, WorkgroupScope: true },
            CooperativeMatrix2TensorAddressing = coop2 is { KernelFeatures: true, TensorAddressing: true },
            CooperativeMatrix2BlockLoads = coop2 is { KernelFeatures: true, TensorAddressing: true, BlockLoads: true },
            CooperativeMatrix2Missing = coop2?.Missing ?? new List<string>(),
            CooperativeMatrix2Shapes = coop2?.Shapes ?? new List<FlexibleMatrixShape>(),
            CooperativeMatrix2MaxDimension = coop2?.MaxDimension ?? 0,
            CooperativeMatrix2MaxWorkgroupSize = coop2?.MaxWorkgroupSize ?? 0,
            CooperativeMatrix2ReservedSharedMemory = coop2?.ReservedSharedMemory ?? 0,
            MemoryBudget = ext.Contains("VK_EXT_memory_budget"),
            MemoryHeaps = heaps,
        };
    }

    /// <summary>
    /// Why a device that lists VK_KHR_cooperative_matrix cannot run Kiln's kernels on it; null where it does not list it,
    /// or where it can. The extension alone is not enough: its cooperativeMatrix feature may be off (Mesa's lavapipe at
    /// 128-bit vectors, LP_NATIVE_VECTOR_WIDTH=128, lists the extension without it), and the kernels use the Vulkan memory model.
    /// </summary>
    internal static string? CooperativeMatrixUnavailable(bool extension, bool feature, bool memoryModel) =>
        !extension ? null
        : !feature ? "VK_KHR_cooperative_matrix without its cooperativeMatrix feature"
        : !memoryModel ? "VK_KHR_cooperative_matrix without the Vulkan memory model"
        : null;

    static List<string> CooperativeMatrixShapes(Vk vk, Instance instance, PhysicalDevice pd)
    {
        var result = new List<string>();
        var fnPtr = (nint)vk.GetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
        if (fnPtr == 0) return result;
        var fn = (delegate* unmanaged<PhysicalDevice, uint*, CooperativeMatrixPropertiesKHR*, Result>)fnPtr;
        uint n = 0;
        if (fn(pd, &n, null) != Result.Success || n == 0) return result;
        var props = new CooperativeMatrixPropertiesKHR[n];
        for (int i = 0; i < n; i++) props[i].SType = StructureType.CooperativeMatrixPropertiesKhr;
        fixed (CooperativeMatrixPropertiesKHR* pp = props) fn(pd, &n, pp);
        foreach (var c in props.Take((int)n))
            result.Add($"{c.MSize}x{c.NSize}x{c.KSize} {Short(c.AType)}*{Short(c.BType)}+{Short(c.CType)}->{Short(c.ResultType)} ({(c.Scope == ScopeKHR.SubgroupKhr ? "subgroup" : c.Scope.ToString())})");
        return result;
    }

    sealed record CooperativeMatrix2Facts(bool KernelFeatures, bool WorkgroupScope, bool TensorAddressing, bool BlockLoads, List<string> Missing, List<FlexibleMatrixShape> Shapes,
        uint MaxDimension, uint MaxWorkgroupSize, uint ReservedSharedMemory);

    /// <summary>
    /// VK_NV_cooperative_matrix2 on the device: whether it has what Kiln's kernels need (flexible dimensions, per-element
    /// operations, conversions) and workgroup scope, which of the extension's features Kiln uses (those, workgroup scope,
    /// tensor addressing, block loads) it lacks, its limits and its flexible-dimension shapes.
    /// </summary>
    static CooperativeMatrix2Facts? CooperativeMatrix2(Vk vk, Instance instance, PhysicalDevice pd)
    {
        var features = new PhysicalDeviceCooperativeMatrix2FeaturesNV { SType = StructureType.PhysicalDeviceCooperativeMatrix2FeaturesNV };
        var feats2 = new PhysicalDeviceFeatures2 { SType = StructureType.PhysicalDeviceFeatures2, PNext = &features };
        vk.GetPhysicalDeviceFeatures2(pd, &feats2);
        var missing = new List<string>();
        if (!features.CooperativeMatrixWorkgroupScope) missing.Add("workgroup scope");
        if (!features.CooperativeMatrixFlexibleDimensions) missing.Add("flexible dimensions");
        if (!features.CooperativeMatrixTensorAddressing) missing.Add("tensor addressing");
        if (!features.CooperativeMatrixPerElementOperations) missing.Add("per-element operations");
        if (!features.CooperativeMatrixConversions) missing.Add("conversions");
        if (!features.CooperativeMatrixBlockLoads) missing.Add("block loads");
        var props = new PhysicalDeviceCooperativeMatrix2PropertiesNV { SType = StructureType.PhysicalDeviceCooperativeMatrix2PropertiesNV };
        var props2 = new PhysicalDeviceProperties2 { SType = StructureType.PhysicalDeviceProperties2, PNext = &props };
        vk.GetPhysicalDeviceProperties2(pd, &props2);

        var shapes = new List<FlexibleMatrixShape>();
        var fnPtr = (nint)vk.GetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV");
        if (fnPtr != 0)
        {
            var fn = (delegate* unmanaged<PhysicalDevice, uint*, CooperativeMatrixFlexibleDimensionsPropertiesNV*, Result>)fnPtr;
            uint n = 0;
            if (fn(pd, &n, null) == Result.Success && n > 0)
            {
                var flex = new CooperativeMatrixFlexibleDimensionsPropertiesNV[n];
                for (int i = 0; i < n; i++) flex[i].SType = StructureType.CooperativeMatrixFlexibleDimensionsPropertiesNV;
                fixed (CooperativeMatrixFlexibleDimensionsPropertiesNV* pp = flex) fn(pd, &n, pp);
                foreach (var c in flex.Take((int)n).Where(c => c.Scope is ScopeKHR.WorkgroupKhr or ScopeKHR.SubgroupKhr))
                    shapes.Add(new FlexibleMatrixShape((int)c.MGranularity, (int)c.NGranularity, (int)c.KGranularity,
                        $"{Short(c.AType)}*{Short(c.BType)}+{Short(c.CType)}->{Short(c.ResultType)}",
                        c.Scope == ScopeKHR.WorkgroupKhr ? (int)c.WorkgroupInvocations : 0));
            }
        }
        bool kernelFeatures = features.CooperativeMatrixFlexibleDimensions && features.CooperativeMatrixPerElementOperations && features.CooperativeMatrixConversions;
        return new CooperativeMatrix2Facts(kernelFeatures, features.CooperativeMatrixWorkgroupScope, features.CooperativeMatrixTensorAddressing,
            features.CooperativeMatrixBlockLoads, missing, shapes, props.CooperativeMatrixFlexibleDimensionsMaxDimension,
            props.CooperativeMatrixWorkgroupScopeMaxWorkgroupSize, props.CooperativeMatrixWorkgroupScopeReservedSharedMemory);
    }

    static string Short(ComponentTypeKHR t) => t switch
    {
        ComponentTypeKHR.Float16Khr => "f16",
        ComponentTypeKHR.Float32Khr => "f32",
        ComponentTypeKHR.Float64Khr => "f64",
        ComponentTypeKHR.Sint8Khr => "s8",
        ComponentTypeKHR.Sint32Khr => "s32",
        ComponentTypeKHR.Uint8Khr => "u8",
        ComponentTypeKHR.Uint32Khr => "u32",
        _ => t.ToString(),
    };

    /// <summary>Throws, saying <paramref name="context"/> (how the device came to be used: KILN_DEVICE, a host's device),
    /// unless <paramref name="device"/> has Vulkan <see cref="DeviceInfo.MinimumApi"/> or later.</summary>
    public static void RequireMinimumApi(DeviceInfo device, string context)
    {
        if (device.Api < DeviceInfo.MinimumApi)
            throw new KilnException($"{context}: {device.Name} has Vulkan {device.ApiVersion}; Kiln needs Vulkan {DeviceInfo.MinimumApi} or later.");
    }

    /// <summary>
    /// The device to use: <paramref name="selector"/> (index or name substring) when given, else a discrete GPU,
    /// then an integrated GPU, then anything else (a CPU implementation such as lavapipe), among the devices with
    /// Vulkan <see cref="DeviceInfo.MinimumApi"/> or later.
    /// </summary>
    public static int Choose(IReadOnlyList<DeviceInfo> devices, string? selector)
    {
        if (devices.Count == 0)
            throw new KilnException("No Vulkan device found. On Debian, 'apt-get install mesa-vulkan-drivers libvulkan1' provides a CPU device (lavapipe).");
        string list = string.Join(", ", devices.Select(d => $"{d.Index} {d.Name} (Vulkan {d.ApiVersion})"));
        if (!string.IsNullOrWhiteSpace(selector))
        {
            DeviceInfo? chosen;
            if (int.TryParse(selector, out int idx))
            {
                if (idx < 0 || idx >= devices.Count)
                    throw new KilnException($"KILN_DEVICE={selector}: no device with that index; there are {devices.Count}: {list}.");
                chosen = devices[idx];
            }
            else
            {
                chosen = devices.FirstOrDefault(d => d.Name.Contains(selector, StringComparison.OrdinalIgnoreCase));
                if (chosen == null)
                    throw new KilnException($"KILN_DEVICE={selector}: no device name contains that; devices: {list}.");
            }
            RequireMinimumApi(chosen, $"KILN_DEVICE={selector}");
            return chosen.Index;
        }
        var usable = devices.Where(d => d.Api >= DeviceInfo.MinimumApi).ToList();
        if (usable.Count == 0)
            throw new KilnException($"No Vulkan device has Vulkan {DeviceInfo.MinimumApi} or later, which Kiln needs; devices: {list}.");
        foreach (var type in new[] { "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu", "Other" })
        {
            var d = usable.FirstOrDefault(x => x.Type == type);
            if (d != null) return d.Index;
        }
        return usable[0].Index;
    }
}
