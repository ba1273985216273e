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
