namespace Kiln.Cli.Bench;

/// <summary>
/// The limits a result is a fraction of: on the H200 of BENCHMARKS.md its recorded figures (fp32 FMA and copy
/// bandwidth through Vulkan); on any other device what <see cref="DeviceRoofline"/> measured just now, or unknown
/// when that was not measured. Fp16 results are fractions of the dense fp16 tensor-core peak on paper, known for the
/// H100 SXM and H200 (989 TFLOP/s; BENCHMARKS.md: "about 990"), where kernels with fp16 arithmetic run; where none
/// does (no cooperative matrices, or only when named), fp16 workloads compute in f32 and are fractions of the f32 limit.
/// </summary>
internal sealed record DeviceLimits(double? Fp32Tflops, double? CopyTBps, string Source, double? Fp16TensorTflops = null)
{
    public static DeviceLimits For(DeviceInfo device, Roofline? measured)
    {
        double? tensor = device.Name.Contains("H200", StringComparison.OrdinalIgnoreCase) || device.Name.Contains("H100 80GB HBM3", StringComparison.OrdinalIgnoreCase)
            ? 989 : null;
        if (device.Name.Contains("H200", StringComparison.OrdinalIgnoreCase))
            return new DeviceLimits(65.3, 4.29, "BENCHMARKS.md: NVIDIA H200 through Vulkan (fp32 FMA 65.3 TFLOP/s, copy 4.29 TB/s read + write)", tensor);
        if (measured is { } m)
            return new DeviceLimits(m.Fp32Tflops, m.CopyGBps / 1000,
                $"measured now on {device.Name} with Kiln's roofline kernels: fp32 FMA {m.Fp32Tflops:G3} TFLOP/s, copy {m.CopyGBps:G3} GB/s read + write", tensor);
        return new DeviceLimits(null, null, $"unknown for {device.Name} (only the H200's limits are recorded, in BENCHMARKS.md)", tensor);
    }

    /// <summary>Whether fp16 workloads run kernels with fp16 arithmetic here (the cooperative-matrix ones).</summary>
    public bool Fp16Arithmetic { get; init; } = true;

    /// <summary>The compute limit a result at <paramref name="precision"/> is a fraction of.</summary>
    public double? ComputeTflops(Precision precision) => precision == Precision.Fp16 && Fp16Arithmetic ? Fp16TensorTflops : Fp32Tflops;
}
