namespace Kiln.Cli.SelfTest;

/// <summary>
/// The precisions the convolution checks run at: the command's, and <see cref="Precision.Fp16"/> as well wherever the
/// device can store f16 activations (shaderFloat16 and 16-bit storage buffers), even where no kernel has fp16
/// arithmetic: every conv kernel has an f16-storage variant, which Fp16 runs.
/// </summary>
internal static class ConvPrecisions
{
    public static IReadOnlyList<Precision> For(GpuContext context, IReadOnlyList<Precision> precisions)
    {
        var d = context.KernelDevice;
        return d.ShaderFloat16 && d.StorageBuffer16BitAccess && !precisions.Contains(Precision.Fp16)
            ? precisions.Append(Precision.Fp16).ToList()
            : precisions;
    }
}
