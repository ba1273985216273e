using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/linear/linear.gemm_coopmat2.comp: Linear's products (the forward, dX = dY W, dW = dY^T X through
/// <see cref="LinearProducts"/>) on VK_NV_cooperative_matrix2 matrices under <see cref="Precision.Fp16"/>: each workgroup's
/// tile of C is ONE workgroup-scope f32 accumulator, both operands staged as f16 through shared memory a step ahead,
/// bias and activation in the epilogue, K split into ordered partial sums as <see cref="LinearCoopMat"/> splits it.
/// Products with fewer than <see cref="LinearCoopMat.MinSize"/> rows or columns stay on the plain kernel.
/// Like the cooperative_matrix2 convolutions (<see cref="Conv2dCoopMat2"/>) it needs tuning: only CompileOptions.Autotune
/// runs it, each product's shape checked against the plain f32 kernel by the tuner; its .subgroup form runs on devices
/// without workgroup scope (lavapipe of Mesa 26, when named: the tests), and its workgroup form has not run on a GPU yet.
/// </summary>
internal sealed class LinearCoopMat2 : CooperativeMatrixEntry, ILinearForward
{
    public string Operation => "linear.fwd";
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 9;
    public bool NeedsTuning => true;

    const string Module = "linear/linear.gemm_coopmat2";
    /// <summary>The shader's A_MAX and B_MAX: staged values of each operand per invocation, at most.</summary>
    const int PerInvocationMax = 32;

    /// <summary>Workgroup-scope tiles (rows x columns x K step, invocations).</summary>
    static readonly CoopMat2Tile[] WorkgroupTiles =
    {
        new(64, 64, 32, 128), new(64, 128, 32, 128), new(128, 64, 32, 128), new(64, 64, 32, 256),
    };

    /// <summary>Subgroup-scope tiles in units of the subgroup size S: (BM, BN, BK) / S, one subgroup.</summary>
    static readonly (int M, int N, int K)[] SubgroupTiles = { (2, 2, 2), (4, 2, 2), (2, 4, 2) };

    public bool Supports(DeviceInfo device) => CooperativeMatrix2Kernels.Usable(device) && Tiles(device).Any();

    /// <summary>The shader's shared memory: the fp16 A and B tiles (rows padded by 8 in either layout) and the f32 result tile.</summary>
    internal static long SharedBytes(CoopMat2Tile t) => 2L * (t.BM + t.BN) * (t.BK + 8) + 4L * t.BM * (t.BN + 4);

    /// <summary>The tiles that fit the device (<see cref="CooperativeMatrix2Kernels.Tiles"/>) and whole shares of each tile's
    /// loads within the staging registers.</summary>
    internal static IEnumerable<CoopMat2Tile> Tiles(DeviceInfo device) =>
        CooperativeMatrix2Kernels.Tiles(device, WorkgroupTiles, SubgroupTiles, SharedBytes, t =>
            t.BM * t.BK % t.Threads == 0 && t.BN * t.BK % t.Threads == 0
            && t.BM * t.BK / t.Threads <= PerInvocationMax && t.BN * t.BK / t.Threads <= PerInvocationMax);

    /// <summary>The first of <see cref="Candidates"/>: what runs where the entry is named untuned.</summary>
    public TuneCandidate? Default(Emitter e, GemmCall g) => Candidates(e, g).FirstOrDefault();

    /// <summary>
    /// Each tile that fits (the one with the least padding past the edges first) single-pass and, where the tiles are too
    /// few to fill the GPU, split (an ordered sum then writes C); none where the plain kernel takes the
    /// product (fewer than <see cref="LinearCoopMat.MinSize"/> rows or columns, the device's workgroup counts).
    /// </summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, GemmCall g)
    {
        var result = new List<TuneCandidate>();
        if (g.K < 1) return result;
        var module = CooperativeMatrix2Kernels.Module(e.Device, Module);
        foreach (var (t, gx, gy) in Grids(e.Device, g.M, g.N))
        {
            result.Add(Candidate(e, g, t, module, gx, gy, 1, 0));
            int steps = (g.K + t.BK - 1) / t.BK;
            int maxSplits = (int)Math.Max(1, Math.Min(e.Device.MaxWorkgroupCount[2], LinearCoopMat.MaxPartialValues / ((long)g.M * g.N)));
            int minSteps = Math.Max(LinearCoopMat.MinStepsPerSplit, (steps + maxSplits - 1) / maxSplits);
            var (splits, stepsPerSplit) = PartialSums.Plan((long)gx * gy, steps, LinearCoopMat.TargetWorkgroups, minSteps);
            if (splits > 1) result.Add(Candidate(e, g, t, module, gx, gy, splits, stepsPerSplit * t.BK));
        }
        return result;
    }

    /// <summary>
    /// The tiles for an m x n product, the least padding past the edges first (then the largest), each with its grid
    /// (row tiles, column tiles) where that fits the device's workgroup counts; none where the plain kernel takes the
    /// product (fewer than <see cref="LinearCoopMat.MinSize"/> rows or columns).
    /// </summary>
    static IEnumerable<(CoopMat2Tile Tile, uint X, uint Y)> Grids(DeviceInfo device, int m, int n)
    {
        if (m < LinearCoopMat.MinSize || n < LinearCoopMat.MinSize) yield break;
        static long Padded(int size, int tile) => (size + tile - 1L) / tile * tile;
        foreach (var t in Tiles(device).OrderBy(t => Padded(m, t.BM) * Padded(n, t.BN)).ThenByDescending(t => t.BM * t.BN))
        {
            long gx = (m + t.BM - 1L) / t.BM, gy = (n + t.BN - 1L) / t.BN;
            if (gx <= device.MaxWorkgroupCount[0] && gy <= device.MaxWorkgroupCount[1]) yield return (t, (uint)gx, (uint)gy);
        }
    }

    static TuneCandidate Candidate(Emitter e, GemmCall g, CoopMat2Tile t, string module, uint gx, uint gy, int splits, int kPerSplit)
    {
        var constants = new[]
        {
            g.TransA ? 1u : 0u, g.TransB ? 1u : 0u, g.Bias != null ? 1u : 0u, (uint)g.Act, KernelSpec.Word(g.Slope),
            (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads, (uint)kPerSplit,
        };
        // A split writes f32 partials in C's place.
        var storage = LinearGemm.StorageVariant(module, g.A, g.B, splits > 1 ? ElementType.F32 : g.C.ElementType, texelB: false);
        var spec = new KernelSpec(storage, KernelSpec.Buffers(4), 12, constants, (uint)t.Threads);
        return new TuneCandidate($"coopmat2_{t}{(splits > 1 ? $"s{splits}" : "")}", spec, (gx, gy, (uint)splits), PushConstants.Ints(g.M, g.N, g.K))
        {
            Finish = splits > 1 ? PartialSums.Finish(e, splits, (long)g.M * g.N, g.Bias, 2, g.Act, g.Slope) : null,
        };
    }

    /// <summary>
    /// MatMul's batched product (<see cref="BatchedGemm"/>) on cooperative_matrix2: <paramref name="count"/> products of
    /// m x n x k, one per workgroup z (no split), each tile that fits (the least padding first). None where the registry
    /// would not run this entry (precision, device, neither preferred there nor named) or where the plain kernel takes the
    /// product (<see cref="LinearCoopMat.MinSize"/>, the device's workgroup counts).
    /// </summary>
    internal static IReadOnlyList<TuneCandidate> BatchedCandidates(Emitter e, Value a, bool transA, Value b, bool transB, Value c,
        int m, int n, int k, long count, uint pushBytes, byte[] push)
    {
        var result = new List<TuneCandidate>();
        if (!KernelRegistry.Offered(KernelRegistry.All.OfType<LinearCoopMat2>().Single(), e)) return result;
        if (k < 1 || count > e.Device.MaxWorkgroupCount[2]) return result;
        var module = LinearGemm.StorageVariant(CooperativeMatrix2Kernels.Module(e.Device, Module) + ".batched", a, b, c.ElementType, texelB: false);
        foreach (var (t, gx, gy) in Grids(e.Device, m, n))
        {
            var constants = new[]
            {
                transA ? 1u : 0u, transB ? 1u : 0u, 0u, (uint)Activation.None, KernelSpec.Word(0f), (uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads, 0u,
            };
            var spec = new KernelSpec(module, KernelSpec.Buffers(4), pushBytes, constants, (uint)t.Threads);
            result.Add(new TuneCandidate($"coopmat2_batched_{t}", spec, (gx, gy, (uint)count), push));
        }
        return result;
    }
}
