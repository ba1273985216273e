namespace Kiln;

/// <summary>What a Vulkan device offers for compute: the facts Kiln's kernels are specialised on.</summary>
public sealed record DeviceInfo
{
    public int Index { get; init; }
    public string Name { get; init; } = "";
    /// <summary>DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.</summary>
    public string Type { get; init; } = "";
    public string ApiVersion { get; init; } = "";
    /// <summary>The device's Vulkan version (major.minor.patch) as a number to compare; <see cref="ApiVersion"/> is the same as text.</summary>
    public Version Api { get; init; } = new(0, 0, 0);
    /// <summary>The Vulkan version Kiln needs: its shaders are SPIR-V 1.5 (Vulkan 1.2), those on cooperative_matrix2 1.6 (1.3).</summary>
    public static readonly Version MinimumApi = new(1, 2);
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
    /// <summary>VK_KHR_cooperative_matrix with its cooperativeMatrix feature and the Vulkan memory model, which Kiln's kernels on it need.</summary>
    public bool CooperativeMatrix { get; init; }
    /// <summary>Why cooperative matrices are off on a device that lists VK_KHR_cooperative_matrix; null where it does not, or where they are on.</summary>
    public string? CooperativeMatrixUnavailable { get; init; }
    /// <summary>Cooperative-matrix shapes, e.g. "16x16x16 f16*f16+f32->f32 (subgroup)".</summary>
    public IReadOnlyList<string> CooperativeMatrixShapes { get; init; } = Array.Empty<string>();
    /// <summary>
    /// VK_NV_cooperative_matrix2 with the features Kiln's kernels on it need (the convolution of engine/Layers/Conv/Conv2dCoopMat2.cs):
    /// matrices of flexible dimensions, per-element operations and conversions; in a context Kiln creates, enabled with
    /// them (and workgroup scope where the device has it: <see cref="CooperativeMatrix2WorkgroupScope"/>).
    /// </summary>
    public bool CooperativeMatrix2 { get; init; }
    /// <summary>Whether cooperative_matrix2's matrices may span a workgroup (NVIDIA), not only a subgroup (lavapipe of Mesa 26).</summary>
    public bool CooperativeMatrix2WorkgroupScope { get; init; }
    /// <summary>Whether cooperative_matrix2's tensor addressing is there (coopMatLoadTensorNV: NVIDIA; lavapipe of Mesa 26 lacks
    /// it), enabled with the rest: <see cref="Kiln.Layers.Conv2dCoopMat2Tensor"/> loads through it.</summary>
    public bool CooperativeMatrix2TensorAddressing { get; init; }
    /// <summary>Whether tensor layouts may have a block size (cooperative_matrix2's cooperativeMatrixBlockLoads feature, enabled
    /// with the rest): the .concat variant of <see cref="Kiln.Layers.Conv2dCoopMat2Tensor"/> reads an upsampled input
    /// through a layout whose blocks are its pixels.</summary>
    public bool CooperativeMatrix2BlockLoads { get; init; }
    /// <summary>Where the device has VK_NV_cooperative_matrix2 without all of the features Kiln uses (workgroup scope, flexible
    /// dimensions, tensor addressing, per-element operations, conversions, block loads): the ones it lacks.</summary>
    public IReadOnlyList<string> CooperativeMatrix2Missing { get; init; } = Array.Empty<string>();
    /// <summary>Flexible-dimension shapes of cooperative_matrix2 (M, N, K: granularities; e.g. "16x16x16 f16*f16+f32->f32 (workgroup, 256 invocations)").</summary>
    public IReadOnlyList<FlexibleMatrixShape> CooperativeMatrix2Shapes { get; init; } = Array.Empty<FlexibleMatrixShape>();
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

    /// <summary>
    /// The granularity of f16*f16+f32 cooperative_matrix2 matrices of flexible dimensions in a workgroup of
    /// <paramref name="invocations"/> invocations (workgroup scope), or, with 0, of one subgroup (subgroup scope); null
    /// where the device has none.
    /// </summary>
    public (int M, int N, int K)? FlexibleF16Granularity(int invocations) =>
        CooperativeMatrix2Shapes.Where(f => f.Types == "f16*f16+f32->f32" && f.WorkgroupInvocations == invocations)
            .Select(f => ((int, int, int)?)(f.M, f.N, f.K)).FirstOrDefault();

    public bool IsCpu => Type == "Cpu";
}

/// <summary>
/// One flexible-dimension shape of cooperative_matrix2: matrices whose sides are multiples of <paramref name="M"/>,
/// <paramref name="N"/> and <paramref name="K"/> for the types <paramref name="Types"/> ("f16*f16+f32->f32"), in a
/// workgroup of <paramref name="WorkgroupInvocations"/> invocations (workgroup scope) or, where 0, in a subgroup.
/// </summary>
public sealed record FlexibleMatrixShape(int M, int N, int K, string Types, int WorkgroupInvocations)
{
    public override string ToString() =>
        $"{M}x{N}x{K} {Types} " + (WorkgroupInvocations > 0 ? $"(workgroup, {WorkgroupInvocations} invocations)" : "(subgroup)");
}

/// <summary>One memory heap of a device.</summary>
public sealed record MemoryHeapInfo(int Index, ulong SizeBytes, bool DeviceLocal);
