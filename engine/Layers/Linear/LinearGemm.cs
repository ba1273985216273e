using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/linear/linear.gemm.comp: register-blocked GEMM (up to 8x8 outputs per invocation, read straight
/// from global memory; K split with an ordered second pass when C has few blocks) with transpose flags, bias and
/// activation baked as specialization constants.
/// Linear's forward entry on every device, and the product its gradient rule uses. Under f16 activation storage each
/// operand keeps its value's width (f16 activations, f32 weights, weight gradients and partial sums: <see cref="StorageVariant"/>),
/// with f32 accumulation.
/// </summary>
internal sealed class LinearGemm : ILinearForward
{
    const int MaxBlock = 8; // B_MAX in the shader
    const uint Local = 64;
    /// <summary>Invocations worth splitting K for (16 workgroups of 64), and the shortest K chunk of a split.</summary>
    internal const long SplitTarget = 1024;
    internal const int MinKPerSplit = 16;
    public string Operation => "linear.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;

    /// <summary>C[m,n] = act(op(A) op(B) + bias): A is [m,k] (or [k,m] when transA), B is [k,n] (or [n,k] when transB).
    /// The plain kernel's default, untuned (MatMul).</summary>
    public static void Gemm(Emitter e, Value a, bool transA, Value b, bool transB, Value? bias, Value c, int m, int n, int k,
        Activation act, float slope, string label)
    {
        var g = new GemmCall(a, transA, b, transB, bias, c, m, n, k, act, slope);
        LinearProducts.Dispatch(e, Default(e, g), g, label);
    }

    /// <summary>Blocks of up to 8 x 8, K split as planned where C has too few blocks to fill the cores.</summary>
    public static TuneCandidate Default(Emitter e, GemmCall g) => Tile(e, g, Math.Min(MaxBlock, g.M), Math.Min(MaxBlock, g.N), split: true);

    TuneCandidate? ILinearForward.Default(Emitter e, GemmCall g) => Default(e, g);

    /// <summary>
    /// The tuner's candidates: blocks of up to 8 x 8, 8 x 4, 4 x 8 and 4 x 4 (within M and N), each single-pass, and the
    /// 8 x 8 block also split as planned (the default, first, where the plan splits).
    /// </summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, GemmCall g)
    {
        var blocks = new[] { (8, 8), (8, 4), (4, 8), (4, 4) }.Select(t => (Math.Min(t.Item1, g.M), Math.Min(t.Item2, g.N))).Distinct().ToList();
        var result = blocks.Select(b => Tile(e, g, b.Item1, b.Item2, split: false)).ToList();
        if (Default(e, g) is { Finish: not null } split) result.Insert(0, split);
        return result;
    }

    /// <summary>The dispatch of a BM x BN block per invocation; with <paramref name="split"/>, K split as planned where C
    /// has too few blocks to fill the cores (the partial products then added in order, with bias and activation).</summary>
    static TuneCandidate Tile(Emitter e, GemmCall g, int bm, int bn, bool split)
    {
        long blocks = (long)((g.M + bm - 1) / bm) * ((g.N + bn - 1) / bn);
        var (splits, kChunk) = split ? PartialSums.Plan(blocks, g.K, SplitTarget, MinKPerSplit) : (1, g.K);
        var constants = new[]
        {
            g.TransA ? 1u : 0u, g.TransB ? 1u : 0u, g.Bias != null ? 1u : 0u, (uint)g.Act, KernelSpec.Word(g.Slope),
            (uint)g.M, (uint)g.N, (uint)g.K, (uint)bm, (uint)bn, splits > 1 ? (uint)kChunk : 0u,
        };
        var (module, bindings) = e.TexelVariant("linear/linear.gemm", 4, 2);
        var push = PushConstants.Ints(g.M, g.N, g.K);
        // A split writes f32 partials in C's place.
        var spec = new KernelSpec(StorageVariant(module, g.A, g.B, splits > 1 ? ElementType.F32 : g.C.ElementType, e.TexelReads), bindings, 12, constants, Local);
        return new TuneCandidate($"b{bm}x{bn}{(splits > 1 ? $"s{splits}" : "")}", spec, FlatGroups.For(e, blocks * splits, Local), push)
        {
            Finish = splits > 1 ? PartialSums.Finish(e, splits, (long)g.M * g.N, g.Bias, 2, g.Act, g.Slope) : null,
        };
    }

    /// <summary>
    /// The gemm module (<paramref name="module"/>: linear/linear.gemm or its .texel or .batched form) that declares each
    /// operand with its value's width (<paramref name="c"/>: the element type C is written as) (header of shaders/linear/linear.gemm.comp): the module itself where every operand
    /// is f32 or where A and C are activations and B a weight; else ".b_act" where B is f16 (unless B is read through a
    /// texel view, of either width) and ".c_float" where C is f32 (a weight gradient, partial sums).
    /// </summary>
    internal static string StorageVariant(string module, Value a, Value b, ElementType c, bool texelB)
    {
        var f16 = ElementType.F16;
        if (a.ElementType != f16 && b.ElementType != f16 && c != f16) return module;
        if (b.ElementType == f16 && !texelB) module += ".b_act";
        if (c != f16) module += ".c_float";
        return module;
    }
}
