namespace Kiln;

/// <summary>
/// What a device reaches with plain compute shaders, measured by <see cref="DeviceRoofline.Measure"/>: copy
/// bandwidth (bytes read plus bytes written) and fp32 FMA throughput, each the best of several GPU-timed runs.
/// </summary>
public sealed record Roofline(double CopyGBps, double Fp32Tflops, long CopyBytes, double CopyMs, double FmaFlops, double FmaMs);
