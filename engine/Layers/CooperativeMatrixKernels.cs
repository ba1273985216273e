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
