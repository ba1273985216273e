using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>What every cooperative-matrix (tensor-core) kernel entry of Kiln needs of a device.</summary>
internal static class CooperativeMatrixKernels
{
    /// <summary>
    /// fp16 arithmetic, square f16*f16+f32 subgroup matrices (<see cref="DeviceInfo.CooperativeMatrixF16Size"/>) and
    /// subgroups of 8 to 32 (wider ones are left to the plain kernels: a driver may run such a shader at another width
    /// than the device reports).
    /// </summary>
    public static bool Usable(DeviceInfo device) =>
        device.ShaderFloat16 && device.CooperativeMatrixF16Size > 0 && device.SubgroupSize is >= 8 and <= 32;
}

/// <summary>
/// Base of every cooperative-matrix (tensor-core) kernel entry: an f32 entry (its modules' f16-storage variants serve f16
/// values) whose arithmetic takes fp16 operands, so chosen only under <see cref="Precision.Fp16"/>; preferred on GPUs
/// only: lavapipe emulates the matrices, slower than its own kernels, so there an entry runs only when named
/// (CompileOptions.PreferKernels), which is how the tests check them there.
/// </summary>
internal abstract class CooperativeMatrixEntry
{
    public ElementType ElementType => ElementType.F32;
    public Precision Arithmetic => Precision.Fp16;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
}

/// <summary>
/// One workgroup's tile of a VK_NV_cooperative_matrix2 kernel: <paramref name="BM"/> x <paramref name="BN"/> of the
/// result, <paramref name="BK"/> of the reduction a step, <paramref name="Threads"/> invocations.
/// </summary>
internal readonly record struct CoopMat2Tile(int BM, int BN, int BK, int Threads)
{
    public override string ToString() => $"{BM}x{BN}x{BK}t{Threads}";
}

/// <summary>
/// What Kiln's VK_NV_cooperative_matrix2 kernels (<see cref="Conv2dCoopMat2"/>, <see cref="Conv2dWeightGradCoopMat2"/>,
/// <see cref="LinearCoopMat2"/>, and the tensor-addressed <see cref="Conv2dCoopMat2Tensor"/> and
/// <see cref="Conv2dWeightGradCoopMat2Tensor"/>) share: the device checks, the tile checks that do not depend on the
/// kernel, and the choice between the workgroup-scope module and its .subgroup form (subgroup-scope matrices in a
/// one-subgroup workgroup) on devices with flexible dimensions but no workgroup scope.
/// </summary>
internal static class CooperativeMatrix2Kernels
{
    public static bool Usable(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && device.CooperativeMatrix2;

    /// <summary>Whether the tensor-addressed kernels run: workgroup scope and tensor addressing (NVIDIA; lavapipe of Mesa 26
    /// has neither).</summary>
    public static bool TensorAddressed(DeviceInfo device) =>
        Usable(device) && device.CooperativeMatrix2WorkgroupScope && device.CooperativeMatrix2TensorAddressing;

    /// <summary>The workgroup tiles of a tensor-addressed kernel that fit the device: <see cref="Tiles"/> for a kernel with
    /// no shared memory of its own beyond what workgroup scope reserves and no limits of its own.</summary>
    public static IEnumerable<CoopMat2Tile> TensorTiles(DeviceInfo device, CoopMat2Tile[] workgroupTiles) =>
        Tiles(device, workgroupTiles, Array.Empty<(int, int, int)>(), _ => 0, _ => true);

    /// <summary>The module the device runs: <paramref name="module"/> with workgroup scope, else its .subgroup form.</summary>
    public static string Module(DeviceInfo device, string module) => device.CooperativeMatrix2WorkgroupScope ? module : module + ".subgroup";

    /// <summary>
    /// The tiles of a kernel that fit the device, in the order given: with workgroup scope <paramref name="workgroupTiles"/>,
    /// else <paramref name="subgroupTiles"/> (BM, BN, BK in units of the subgroup size, one subgroup); each with matrices
    /// that are multiples of the flexible granularity for its scope and workgroup (none listed: none fits) and within the
    /// largest dimension, within the workgroup size, <paramref name="sharedBytes"/> (with what workgroup scope reserves)
    /// within the shared memory, and <paramref name="fits"/>, the kernel's own limits.
    /// </summary>
    public static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device, CoopMat2Tile[] workgroupTiles, (int M, int N, int K)[] subgroupTiles,
        Func<CoopMat2Tile, long> sharedBytes, Func<CoopMat2Tile, bool> fits)
    {
        bool workgroup = device.CooperativeMatrix2WorkgroupScope;
        int s = (int)device.SubgroupSize;
        var tiles = workgroup ? workgroupTiles : subgroupTiles.Select(t => new CoopMat2Tile(t.M * s, t.N * s, t.K * s, s)).ToArray();
        return tiles.Where(t =>
        {
            var g = device.FlexibleF16Granularity(workgroup ? t.Threads : 0);
            if (g is not { } gran || t.BM % gran.M != 0 || t.BN % gran.N != 0 || t.BK % gran.K != 0) return false;
            if (Math.Max(t.BM, Math.Max(t.BN, t.BK)) > device.CooperativeMatrix2MaxDimension) return false;
            if (t.Threads > device.MaxWorkgroupInvocations || (workgroup && t.Threads > device.CooperativeMatrix2MaxWorkgroupSize)) return false;
            return sharedBytes(t) + (workgroup ? device.CooperativeMatrix2ReservedSharedMemory : 0) <= device.MaxSharedMemoryBytes && fits(t);
        });
    }
}
