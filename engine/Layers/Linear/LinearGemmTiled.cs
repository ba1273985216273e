using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/linear/linear.gemm_tiled.comp: Linear's products (the forward, dX and dW, any transposes, the operand types of
/// <see cref="LinearGemm.StorageVariant"/>) on the GPU's f32 units with both operands staged through shared memory, tiles
/// of 32 to 128 by 32 to 128 with up to 8 x 8 outputs per invocation, K split over the workgroups' z where the product
/// has few tiles (its partial sums added in order with the bias and activation: <see cref="PartialSums"/>). Where the
/// register-blocked kernel reads every operand element from global memory once per block (on the H200 the fp32
/// autoencoder's 64 x 128 x 4096 encoder product took 1.01 ms, 0.07 TFLOP/s). Tuning-only (the compile times it
/// against <see cref="LinearGemm"/>'s blocks on a GPU, its default there); on lavapipe only when named.
/// </summary>
internal sealed class LinearGemmTiled : ILinearForward
{
    const long SplitTarget = 256;      // workgroups a split product aims at (a GPU's cores twice over)
    const int MinKPerSplit = 64;

    public string Operation => "linear.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.RowMajor;
    /// <summary>Below the register-blocked kernel: products too small to time (<see cref="LinearProducts.MinTunedWork"/>) keep it.</summary>
    public int Priority => -1;
    public bool Supports(DeviceInfo device) => TiledGemm.Runs(device.MaxSharedMemoryBytes, device.MaxWorkgroupInvocations);
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public bool NeedsTuning => true;

    TuneCandidate? ILinearForward.Default(Emitter e, GemmCall g) => Candidates(e, g).FirstOrDefault();

    /// <summary>Up to four tiles that fit the product (none much larger than M or N) and the device's shared memory, single-pass; and the first of them with
    /// K split where it has fewer than 256 tiles.</summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, GemmCall g)
    {
        var fitting = TiledGemm.Fitting(g.M, g.N, e.Device.MaxSharedMemoryBytes, e.Device.MaxWorkgroupCount[0], e.Device.MaxWorkgroupCount[1])
            .Take(TiledGemm.MaxCandidates).ToList();
        var result = fitting.Select(t => Tile(e, g, t, 1, g.K)).ToList();
        if (fitting.Count > 0)
        {
            var t = fitting[0];
            long tiles = (long)((g.M + t.BM - 1) / t.BM) * ((g.N + t.BN - 1) / t.BN);
            var (splits, chunk) = PartialSums.Plan(tiles, g.K, SplitTarget, MinKPerSplit);
            if (splits > 1 && splits <= e.Device.MaxWorkgroupCount[2]) result.Add(Tile(e, g, t, splits, chunk));
        }
        return result;
    }

    static TuneCandidate Tile(Emitter e, GemmCall g, (int BM, int BN, int TM, int TN) t, int splits, int chunk)
    {
        var constants = new[]
        {
            g.TransA ? 1u : 0u, g.TransB ? 1u : 0u, g.Bias != null ? 1u : 0u, (uint)g.Act, KernelSpec.Word(g.Slope),
            (uint)t.BM, (uint)t.BN, (uint)t.TM, (uint)t.TN, (uint)TiledGemm.Depth, splits > 1 ? (uint)chunk : 0u,
        };
        // A split writes f32 partials in C's place.
        var module = LinearGemm.StorageVariant("linear/linear.gemm_tiled", g.A, g.B, splits > 1 ? ElementType.F32 : g.C.ElementType, texelB: false);
        var spec = new KernelSpec(module, KernelSpec.Buffers(4), 12, constants, (uint)TiledGemm.Threads(t));
        var groups = ((uint)((g.N + t.BN - 1) / t.BN), (uint)((g.M + t.BM - 1) / t.BM), (uint)splits);
        return new TuneCandidate($"{t.BM}x{t.BN}t{t.TM}x{t.TN}{(splits > 1 ? $"s{splits}" : "")}", spec, groups, PushConstants.Ints(g.M, g.N, g.K))
        {
            Finish = splits > 1 ? PartialSums.Finish(e, splits, (long)g.M * g.N, g.Bias, 2, g.Act, g.Slope) : null,
        };
    }
}
