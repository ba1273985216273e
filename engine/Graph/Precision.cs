namespace Kiln;

/// <summary>How a compiled network stores activations and which arithmetic it may use (<see cref="CompileOptions.Precision"/>).</summary>
public enum Precision
{
    /// <summary>Strict f32 everywhere (no reduced-precision products): the default, and what every kernel supports.</summary>
    Fp32,
    /// <summary>
    /// Mixed precision: activations and their gradients are stored as f16 (every kernel's f16-storage variant), while
    /// parameters, their gradients, optimizer state and losses stay f32 and arithmetic accumulates in f32; kernels that
    /// have an fp16 path take fp16 operands (tensor cores through cooperative matrices where the device has them).
    /// Training uses dynamic loss scaling (<see cref="CompileOptions.LossScaling"/>). Needs shaderFloat16 and
    /// storageBuffer16BitAccess; network inputs and named outputs stay f32, converted at the graph's edges (an input or
    /// activation beyond f16's range, |x| &gt; 65504, becomes infinite: scale such data, as the denoiser's log transfer does).
    /// </summary>
    Fp16,
}
