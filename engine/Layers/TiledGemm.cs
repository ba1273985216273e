namespace Kiln.Layers;

/// <summary>
/// The tiles of the shared-memory tiled f32 GEMMs (shaders/include/tiled_gemm.glsl: <see cref="Conv2dImplicitGemm"/>'s
/// conv2d.fwd_gemm and <see cref="LinearGemmTiled"/>'s linear.gemm_tiled): BM rows by BN columns of the product per
/// workgroup, TM x TN per invocation (at most 8 x 8; BN divides the invocations, as the convolution's im2col loads need),
/// <see cref="Depth"/> of the reduction a step.
/// </summary>
internal static class TiledGemm
{
    /// <summary>BK, the reduction's slice per step.</summary>
    public const int Depth = 16;

    /// <summary>Candidates per product: every one costs a pipeline compile and its timing when the compile tunes.</summary>
    public const int MaxCandidates = 4;

    /// <summary>The tiles, in the order a product's candidates take them (the first that fits its untuned default).</summary>
    public static readonly (int BM, int BN, int TM, int TN)[] Tiles =
    {
        (64, 64, 4, 4), (128, 128, 8, 8), (64, 128, 4, 8), (128, 64, 8, 4), (32, 64, 2, 4), (64, 32, 4, 2), (32, 32, 4, 4),
    };

    /// <summary>A tile's invocations.</summary>
    public static int Threads((int BM, int BN, int TM, int TN) t) => t.BM / t.TM * (t.BN / t.TN);

    /// <summary>Shared memory a tile takes: two slices of each operand, rows padded by one.</summary>
    public static long SharedBytes((int BM, int BN, int TM, int TN) t) => 2L * Depth * (t.BM + 1 + t.BN + 1) * sizeof(float);

    /// <summary>Whether some tile runs on a device with <paramref name="sharedBytes"/> of shared memory and at least 256 invocations a workgroup.</summary>
    public static bool Runs(uint sharedBytes, uint invocations) => invocations >= 256 && Tiles.Any(t => SharedBytes(t) <= sharedBytes);

    /// <summary>
    /// The tiles worth timing for a product of <paramref name="rows"/> x <paramref name="columns"/>, in order: none much
    /// larger than either (up to twice, or 32), within <paramref name="sharedBytes"/> and the workgroup counts along x
    /// (column tiles) and y (row tiles).
    /// </summary>
    public static IEnumerable<(int BM, int BN, int TM, int TN)> Fitting(long rows, long columns, long sharedBytes, long maxX, long maxY) =>
        Tiles.Where(t => (t.BM <= 32 || t.BM / 2 < rows) && (t.BN <= 32 || t.BN / 2 < columns) && SharedBytes(t) <= sharedBytes
                         && (columns + t.BN - 1) / t.BN <= maxX && (rows + t.BM - 1) / t.BM <= maxY);
}
