using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/linear/linear.gemm_coopmat.comp: Linear's products on tensor cores (KHR cooperative matrices, fp16
/// operands, f32 accumulation), chosen under <see cref="Precision.Fp16"/> on devices with square f16*f16+f32 subgroup
/// matrices (<see cref="DeviceInfo.CooperativeMatrixF16Size"/>: 16 on NVIDIA, 8 on lavapipe of Mesa 26) and subgroups
/// of 8 to 32: the forward (y = x W^T + b, bias and activation in the epilogue) and the backward's dX = dY W and
/// dW = dY^T X (<see cref="LinearBackward"/>), all through <see cref="LinearProducts"/>; under CompileOptions.Autotune
/// its tiles are timed against the plain kernel's blocks. f16 activations and gradients go into the
/// tiles as they are, f32 weights are rounded as they are staged. K is split into ordered partial sums
/// (reduce/partials) where C has too few tiles to fill the GPU, as for dW over a large batch.
/// Products with fewer than <see cref="MinSize"/> rows or columns (a classifier head, a batch of a few samples, a
/// 3-feature input) and grids past the device's workgroup counts run the register-blocked <see cref="LinearGemm"/>.
/// Not yet timed on a GPU; on a CPU device (lavapipe emulates the matrices) it runs only when named
/// (CompileOptions.PreferKernels), which is how the tests check it there.
/// </summary>
internal sealed class LinearCoopMat : CooperativeMatrixEntry, ILinearForward
{
    public string Operation => "linear.fwd";
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 10;

    /// <summary>Rows or columns of C below which the plain kernel runs: the smallest tile is 2S = 32 wide on a GPU.</summary>
    internal const int MinSize = 16;
    /// <summary>Workgroups a split K aims at (as the conv weight gradients: a few per SM of a 132-SM GPU).</summary>
    internal const long TargetWorkgroups = 1024;
    /// <summary>The shortest chunk of a split, in steps of BK = 2S rows of K.</summary>
    internal const int MinStepsPerSplit = 8;
    /// <summary>Partial values a split may write (128 MiB of f32); also keeps split * M * N within 32-bit indices.</summary>
    internal const long MaxPartialValues = 32L << 20;

    /// <summary>A workgroup of SgM x SgN subgroups, each TM x TN S x S accumulators: a TM S SgM by TN S SgN tile of C.</summary>
    internal readonly record struct Tile(int SgM, int SgN, int TM, int TN)
    {
        public int Rows(int s) => TM * s * SgM;
        public int Cols(int s) => TN * s * SgN;
        public int Subgroups => SgM * SgN;
        public override string ToString() => $"{SgM}x{SgN} subgroups of {TM}x{TN}";
    }

    /// <summary>The shapes the host picks from (in S units: 8x8, 4x8, 8x4, 4x4, 8x2, 2x8, 2x2), largest first.</summary>
    internal static readonly Tile[] Shapes =
    {
        new(4, 2, 2, 4), new(2, 2, 2, 4), new(2, 2, 4, 2), new(2, 2, 2, 2), new(4, 1, 2, 2), new(1, 4, 2, 2), new(1, 1, 2, 2),
    };

    /// <summary>The device check of every cooperative-matrix entry (<see cref="CooperativeMatrixKernels.Usable"/>), and a tile that fits.</summary>
    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Tiles(device).Any();

    /// <summary>
    /// Whether <paramref name="t"/> fits the shader with S x S matrices and the device's subgroups: a whole share of each
    /// tile's loads per invocation, at most 32 of A and of B (the shader's staging registers), the device's workgroup
    /// size and shared memory.
    /// </summary>
    internal static bool Fits(DeviceInfo device, int s, Tile t)
    {
        int threads = (int)device.SubgroupSize * t.Subgroups, bk = 2 * s;
        int a = t.Rows(s) * bk, b = bk * t.Cols(s);
        if (threads > device.MaxWorkgroupInvocations || a % threads != 0 || b % threads != 0) return false;
        if (a / threads > 32 || b / threads > 32) return false;
        return SharedBytes(s, t) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>
    /// The shader's shared memory in its larger layout (either transpose): two fp16 tiles of A and of B, rows padded by
    /// 8, and one f32 S x S staging tile per subgroup. With S = 16 the 8S x 8S tile takes exactly 48 KiB.
    /// </summary>
    internal static long SharedBytes(int s, Tile t)
    {
        int bm = t.Rows(s), bn = t.Cols(s), bk = 2 * s;
        long a = Math.Max((long)bm * (bk + 8), (long)bk * (bm + 8)), b = Math.Max((long)bn * (bk + 8), (long)bk * (bn + 8));
        return 2 * 2 * (a + b) + 4L * t.Subgroups * s * s;
    }

    /// <summary>The tile shapes that fit the device, largest first.</summary>
    internal static IEnumerable<Tile> Tiles(DeviceInfo device) =>
        Shapes.Where(t => Fits(device, device.CooperativeMatrixF16Size, t));

    /// <summary>The tile for an M x N product: the least padding past the edges, then the largest tile (fewest loads per product).</summary>
    internal static Tile ChooseTile(DeviceInfo device, int m, int n)
    {
        int s = device.CooperativeMatrixF16Size;
        static long Padded(int size, int tile) => (size + tile - 1L) / tile * tile;
        return Tiles(device).OrderBy(t => Padded(m, t.Rows(s)) * Padded(n, t.Cols(s))).ThenByDescending(t => t.Rows(s) * t.Cols(s)).First();
    }

    /// <summary>
    /// How an M x N x K product runs: its tile, grid (row tiles on x, column tiles on y, splits on z) and split of K
    /// (chunks of KPerSplit rows, a multiple of 2S; 0 = one chunk) so that about <see cref="TargetWorkgroups"/> fill the GPU.
    /// Null where the plain kernel takes the product (<see cref="MinSize"/>, the device's workgroup counts). The tile is
    /// <see cref="ChooseTile"/>'s unless <paramref name="forced"/>.
    /// </summary>
    internal static GemmPlan? Plan(DeviceInfo device, int m, int n, int k, Tile? forced = null)
    {
        if (m < MinSize || n < MinSize || k < 1) return null;
        int s = device.CooperativeMatrixF16Size, bk = 2 * s;
        var tile = forced ?? ChooseTile(device, m, n);
        long gx = (m + tile.Rows(s) - 1L) / tile.Rows(s), gy = (n + tile.Cols(s) - 1L) / tile.Cols(s);
        if (gx > device.MaxWorkgroupCount[0] || gy > device.MaxWorkgroupCount[1]) return null;
        int steps = (k + bk - 1) / bk;
        int maxSplits = (int)Math.Max(1, Math.Min(device.MaxWorkgroupCount[2], MaxPartialValues / ((long)m * n)));
        int minSteps = Math.Max(MinStepsPerSplit, (steps + maxSplits - 1) / maxSplits);
        var (splits, stepsPerSplit) = PartialSums.Plan(gx * gy, steps, TargetWorkgroups, minSteps);
        return new GemmPlan(tile, ((uint)gx, (uint)gy, (uint)splits), splits, splits > 1 ? stepsPerSplit * bk : 0);
    }

    /// <summary>One product's tile, grid, number of K chunks and rows per chunk (0: one chunk).</summary>
    internal sealed record GemmPlan(Tile Tile, (uint X, uint Y, uint Z) Groups, int Splits, int KPerSplit);

    /// <summary>The product on the tile <see cref="Plan"/> picks, K split as planned; null where the plain kernel takes it.</summary>
    public TuneCandidate? Default(Emitter e, GemmCall g) =>
        Plan(e.Device, g.M, g.N, g.K) is { } plan ? Candidate(e, g, plan) : null;

    /// <summary>The tile <see cref="Plan"/> picks and the next two largest that fit the device, each single-pass and,
    /// where the plan splits K, split as planned for it; none where the plain kernel takes the product.</summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, GemmCall g)
    {
        var result = new List<TuneCandidate>();
        if (Plan(e.Device, g.M, g.N, g.K) is not { } chosen) return result;
        foreach (var tile in Tiles(e.Device).Where(t => t != chosen.Tile).Take(2).Prepend(chosen.Tile))
        {
            if (Plan(e.Device, g.M, g.N, g.K, tile) is not { } plan) continue;
            result.Add(Candidate(e, g, plan with { Groups = (plan.Groups.X, plan.Groups.Y, 1u), Splits = 1, KPerSplit = 0 }));
            if (plan.Splits > 1) result.Add(Candidate(e, g, plan));
        }
        return result;
    }

    /// <summary>
    /// C[m,n] = act(op(A) op(B) + bias) as <see cref="LinearGemm.Gemm"/> (same operands and element types) on tensor
    /// cores: the plan's tile and split. The shader's 32-bit indices: A, B and C are tensors (Shape keeps each within
    /// 2^31 elements), and the partial sums within MaxPartialValues.
    /// </summary>
    static TuneCandidate Candidate(Emitter e, GemmCall g, GemmPlan plan)
    {
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        var t = plan.Tile;
        var constants = new[]
        {
            g.TransA ? 1u : 0u, g.TransB ? 1u : 0u, g.Bias != null ? 1u : 0u, (uint)g.Act, KernelSpec.Word(g.Slope),
            (uint)t.SgM, (uint)t.SgN, (uint)t.TM, (uint)t.TN, (uint)s, (uint)subgroup, (uint)plan.KPerSplit,
        };
        // A split writes f32 partials in C's place.
        var module = LinearGemm.StorageVariant(Module, g.A, g.B, plan.Splits > 1 ? ElementType.F32 : g.C.ElementType, texelB: false);
        var spec = new KernelSpec(module, KernelSpec.Buffers(4), 12, constants, (uint)(subgroup * t.Subgroups));
        return new TuneCandidate($"{t.SgM}x{t.SgN}x{t.TM}x{t.TN}{(plan.Splits > 1 ? $"s{plan.Splits}" : "")}", spec, plan.Groups, PushConstants.Ints(g.M, g.N, g.K))
        {
            Finish = plan.Splits > 1 ? PartialSums.Finish(e, plan.Splits, (long)g.M * g.N, g.Bias, 2, g.Act, g.Slope) : null,
        };
    }

    const string Module = "linear/linear.gemm_coopmat";

    /// <summary>
    /// MatMul's batched product (<see cref="BatchedGemm"/>) on tensor cores: <paramref name="count"/> products of m x n x k,
    /// one per workgroup z (no split), on the tile <see cref="ChooseTile"/> picks (the default, first) and the next two
    /// largest that fit. None where the registry would not run this entry for Linear (precision, device, not preferred
    /// there nor named) or where the plain kernel takes the product (<see cref="MinSize"/>, the device's workgroup counts).
    /// </summary>
    internal static IReadOnlyList<TuneCandidate> BatchedCandidates(Emitter e, Value a, bool transA, Value b, bool transB, Value c,
        int m, int n, int k, long count, uint pushBytes, byte[] push)
    {
        var result = new List<TuneCandidate>();
        if (!KernelRegistry.Offered(KernelRegistry.All.OfType<LinearCoopMat>().Single(), e)) return result;
        if (Plan(e.Device, m, n, k) is not { } chosen || count > e.Device.MaxWorkgroupCount[2]) return result;
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        var module = LinearGemm.StorageVariant(Module + ".batched", a, b, c.ElementType, texelB: false);
        foreach (var t in Tiles(e.Device).Where(t => t != chosen.Tile).Take(2).Prepend(chosen.Tile))
        {
            if (Plan(e.Device, m, n, k, t) is not { } plan) continue;
            var constants = new[]
            {
                transA ? 1u : 0u, transB ? 1u : 0u, 0u, (uint)Activation.None, KernelSpec.Word(0f),
                (uint)t.SgM, (uint)t.SgN, (uint)t.TM, (uint)t.TN, (uint)s, (uint)subgroup, 0u,
            };
            var spec = new KernelSpec(module, KernelSpec.Buffers(4), pushBytes, constants, (uint)(subgroup * t.Subgroups));
            result.Add(new TuneCandidate($"batched{t.SgM}x{t.SgN}x{t.TM}x{t.TN}", spec, (plan.Groups.X, plan.Groups.Y, (uint)count), push));
        }
        return result;
    }
}
