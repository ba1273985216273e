namespace Kiln;

/// <summary>What a Vulkan device offers for compute: the facts Kiln's kernels are specialised on.</summary>
public sealed record DeviceInfo
{
    public int Index { get; init; }
    public string Name { get; init; } = "";
    /// <summary>DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.</summary>
    public string Type { get; init; } = "";
    public string ApiVersion { get; init; } = "";
    public uint DriverVersion { get; init; }
    public string DriverName { get; init; } = "";
    public string DriverInfo { get; init; } = "";
    public uint VendorId { get; init; }
    public uint DeviceId { get; init; }
    public Guid DeviceUuid { get; init; }
    public Guid PipelineCacheUuid { get; init; }
    public uint SubgroupSize { get; init; }
    public uint MaxSharedMemoryBytes { get; init; }
    public uint MaxPushConstantsBytes { get; init; }
    public uint MaxWorkgroupInvocations { get; init; }
    public uint[] MaxWorkgroupSize { get; init; } = Array.Empty<uint>();
    public uint[] MaxWorkgroupCount { get; init; } = Array.Empty<uint>();
    public ulong MaxStorageBufferRange { get; init; }
    public ulong MinStorageBufferOffsetAlignment { get; init; }
    public ulong MinTexelBufferOffsetAlignment { get; init; } = 16;
    public ulong MaxTexelBufferElements { get; init; } = 65536;
    public ulong MaxUniformBufferRange { get; init; } = 16384;
    /// <summary>Nanoseconds per timestamp tick; 0 when the compute queue has no timestamps.</summary>
    public float TimestampPeriodNs { get; init; }
    public bool ShaderFloat16 { get; init; }
    public bool StorageBuffer16BitAccess { get; init; }
    public bool CooperativeMatrix { get; init; }
    /// <summary>Cooperative-matrix shapes, e.g. "16x16x16 f16*f16+f32->f32 (subgroup)".</summary>
    public IReadOnlyList<string> CooperativeMatrixShapes { get; init; } = Array.Empty<string>();
    /// <summary>
    /// VK_NV_cooperative_matrix2 with the features a tensor-addressing GEMM needs: workgroup-scope matrices of flexible
    /// dimensions, tensor addressing, per-element operations and conversions (reported by `kiln info`; no Kiln kernel
    /// uses it yet, and a context does not enable it).
    /// </summary>
    public bool CooperativeMatrix2 { get; init; }
    /// <summary>Where the device has VK_NV_cooperative_matrix2 without all of those features: the ones it lacks.</summary>
    public IReadOnlyList<string> CooperativeMatrix2Missing { get; init; } = Array.Empty<string>();
    /// <summary>Flexible-dimension shapes of cooperative_matrix2, e.g. "16x16x16 f16*f16+f32->f32 (workgroup, 256 invocations)" (M, N, K: granularities).</summary>
    public IReadOnlyList<string> CooperativeMatrix2Shapes { get; init; } = Array.Empty<string>();
    /// <summary>The largest flexible matrix dimension.</summary>
    public uint CooperativeMatrix2MaxDimension { get; init; }
    /// <summary>The largest workgroup (invocations) that may use workgroup-scope matrices.</summary>
    public uint CooperativeMatrix2MaxWorkgroupSize { get; init; }
    /// <summary>Shared memory (bytes) the implementation reserves in a workgroup that uses workgroup-scope matrices.</summary>
    public uint CooperativeMatrix2ReservedSharedMemory { get; init; }
    public bool MemoryBudget { get; init; }
    public IReadOnlyList<MemoryHeapInfo> MemoryHeaps { get; init; } = Array.Empty<MemoryHeapInfo>();

    /// <summary>
    /// The side S of the square S x S x S subgroup matrices with fp16 operands and f32 accumulation that Kiln's tensor-core
    /// kernels use: 16 where the device has them (NVIDIA), else 8 (lavapipe of Mesa 26), else 0 (none).
    /// </summary>
    public int CooperativeMatrixF16Size =>
        !CooperativeMatrix ? 0
        : CooperativeMatrixShapes.Contains(CooperativeMatrixShape(16)) ? 16
        : CooperativeMatrixShapes.Contains(CooperativeMatrixShape(8)) ? 8 : 0;

    /// <summary>The entry of <see cref="CooperativeMatrixShapes"/> for S x S x S f16*f16+f32 subgroup matrices.</summary>
    public static string CooperativeMatrixShape(int size) => $"{size}x{size}x{size} f16*f16+f32->f32 (subgroup)";

    public bool IsCpu => Type == "Cpu";
}

/// <summary>One memory heap of a device.</summary>
public sealed record MemoryHeapInfo(int Index, ulong SizeBytes, bool DeviceLocal);
