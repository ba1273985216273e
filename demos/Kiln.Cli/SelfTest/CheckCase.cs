namespace Kiln.Cli.SelfTest;

/// <summary>
/// One shape of one operation to check: the layer (run alone through the graph compiler, so the registry picks
/// its kernels as it would in any network), its input shape, and the CPU reference of its forward and backward.
/// <see cref="Others"/>: the shapes of further inputs (a loss's target), random in [0, 1); the reference then gets x and
/// their data one after another as its x, and returns the gradient of x alone, or of x and theirs (then each is compared).
/// <see cref="OutputGradientScale"/>
/// multiplies the random output gradient (a power of two, exact): a loss's gradient is about 1 / elements, which a
/// training step under f16 storage multiplies by its loss scale (LossScaling) to keep it above f16's small numbers.
/// </summary>
internal sealed record CheckCase(string Description, Layer Layer, Shape Input, ReferenceFunction Reference, IReadOnlyList<Shape>? Others = null)
{
    public float OutputGradientScale { get; init; } = 1f;
    /// <summary>
    /// A layer applied to x before <see cref="Layer"/> (null: none), so the check covers what the compiler makes of the
    /// pair (an upsample fused into the concat after it); the reference then describes both.
    /// </summary>
    public Layer? Before { get; init; }
    /// <summary>
    /// A layer applied to <see cref="Layer"/>'s output (null: none), whose parameters are then the ones checked (a UNet
    /// decoder's convolution after its concatenation); the reference describes all of them.
    /// </summary>
    public Layer? After { get; init; }
    /// <summary>
    /// Compile with the graph's fusions on (CompileOptions.Fuse), so the check covers the kernels the compiler makes of the
    /// layers together (an upsample into its concatenation, a concatenation into the convolution that reads it); off
    /// by default, so each layer runs its own kernels.
    /// </summary>
    public bool Fused { get; init; }
    /// <summary>
    /// Check an inference plan (the output alone) and no training plan: for a fusion whose reference gives only the
    /// output (a convolution taking the max pool after it, whose gradient the pool's argmax makes fragile to check at
    /// f16: two values a rounding makes equal send it elsewhere).
    /// </summary>
    public bool InferenceOnly { get; init; }
    /// <summary>
    /// Name <see cref="Layer"/>'s own output too ("kept"), as a UNet encoder's skip is read besides the pool after it, and
    /// compare it with the reference's <see cref="ReferenceResult.Kept"/>: a fusion of the two layers must then still
    /// write it (a convolution's ".pool.keep" variant).
    /// </summary>
    public bool KeepLayerOutput { get; init; }
    /// <summary>
    /// False where the reference describes only the training plan's computation (a batch norm's batch statistics), so
    /// the case gets no channels-last inference round.
    /// </summary>
    public bool ChannelsLast { get; init; } = true;
}

/// <summary>
/// The double-precision CPU result of a layer for input <c>x</c>, parameters <c>w</c> and <c>b</c> (null when
/// the layer has none) and output gradient <c>gy</c>: y, and the gradients of x, w and b.
/// </summary>
internal delegate ReferenceResult ReferenceFunction(double[] x, double[]? w, double[]? b, double[] gy);

/// <summary>What <see cref="ReferenceFunction"/> returns; <see cref="Kept"/>: the layer's own output, where the case
/// names it (<see cref="CheckCase.KeepLayerOutput"/>).</summary>
internal sealed record ReferenceResult(double[] Y, double[] GradX, double[]? GradW, double[]? GradB)
{
    public double[]? Kept { get; init; }
}
