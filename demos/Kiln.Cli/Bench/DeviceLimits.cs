namespace Kiln.Cli.Bench;

/// <summary>
/// The measured limits a result is a fraction of. Only the H200 of BENCHMARKS.md is known (fp32 FMA and copy
/// bandwidth through Vulkan, measured there); on any other device the limit is reported as unknown.
/// </summary>
internal sealed record DeviceLimits(double? Fp32Tflops, double? CopyTBps, string Source)
{
    public static DeviceLimits For(DeviceInfo device) =>
        device.Name.Contains("H200", StringComparison.OrdinalIgnoreCase)
            ? new DeviceLimits(65.3, 4.29, "BENCHMARKS.md: NVIDIA H200 through Vulkan (fp32 FMA 65.3 TFLOP/s, copy 4.29 TB/s read + write)")
            : new DeviceLimits(null, null, $"unknown for {device.Name} (only the H200's limits are recorded, in BENCHMARKS.md)");
}
