namespace Kiln;

/// <summary>The arithmetic a compiled network may use (<see cref="CompileOptions.Precision"/>).</summary>
public enum Precision
{
    /// <summary>Strict f32 everywhere (no reduced-precision products): the default, and what every kernel supports.</summary>
    Fp32,
    /// <summary>
    /// Kernels that have an fp16 path take fp16 operands with f32 accumulation (tensor cores through cooperative
    /// matrices where the device has them); the others stay f32. Activations and parameters are stored as f32 today.
    /// </summary>
    Fp16,
}
