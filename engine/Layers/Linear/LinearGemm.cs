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

    public void Emit(Emitter e, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label) =>
        Gemm(e, x, false, w, true, bias, y, y.Shape[0], y.Shape[1], x.Shape[1], act, slope, label);

    /// <summary>C[m,n] = act(op(A) op(B) + bias): A is [m,k] (or [k,m] when transA), B is [k,n] (or [n,k] when transB).</summary>
    public static void Gemm(Emitter e, Value a, bool transA, Value b, bool transB, Value? bias, Value c, int m, int n, int k,
        Activation act, float slope, string label)
    {
        int bm = Math.Min(MaxBlock, m), bn = Math.Min(MaxBlock, n);
        long blocks = (long)((m + bm - 1) / bm) * ((n + bn - 1) / bn);
        // Too few blocks of C to fill the cores: split K, then add the partial products in order (with bias and activation).
        var (splits, kChunk) = PartialSums.Plan(blocks, k, SplitTarget, MinKPerSplit);
        var constants = new[]
        {
            transA ? 1u : 0u, transB ? 1u : 0u, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
            (uint)m, (uint)n, (uint)k, (uint)bm, (uint)bn, splits > 1 ? (uint)kChunk : 0u,
        };
        var (module, bindings) = e.TexelVariant("linear/linear.gemm", 4, 2);
        var push = PushConstants.Ints(m, n, k);
        if (splits == 1)
        {
            var spec = new KernelSpec(StorageVariant(module, a, b, c, e.TexelReads), bindings, 12, constants, Local);
            e.Dispatch(spec, FlatGroups.For(e, blocks, Local), push, label, Arg.In(a), Arg.In(b), Arg.In(bias ?? b), Arg.Out(c));
            return;
        }
        var partial = PartialSums.Scratch(e, splits, (long)m * n, label);
        var split = new KernelSpec(StorageVariant(module, a, b, partial, e.TexelReads), bindings, 12, constants, Local);
        e.Dispatch(split, FlatGroups.For(e, blocks * splits, Local), push, label, Arg.In(a), Arg.In(b), Arg.In(b), Arg.Out(partial));
        SumPartials(e, partial, c, bias, act, slope, label);
    }

    /// <summary>
    /// C = act(the ordered sum of a split product's f32 partials + bias); for an f16 C (activation storage) the sum, bias
    /// and activation run in f32, then one conversion.
    /// </summary>
    internal static void SumPartials(Emitter e, Value partial, Value c, Value? bias, Activation act, float slope, string label)
    {
        if (c.ElementType == partial.ElementType)
        {
            PartialSums.Sum(e, partial, c, $"{label}.sum", bias, act, slope);
            return;
        }
        var sum = e.NewValue(c.Shape, ValueKind.Transient, $"{label}.sum");
        PartialSums.Sum(e, partial, sum, $"{label}.sum", bias, act, slope);
        e.Convert(sum, c, $"{label}.to_{c.ElementType.Name()}");
    }

    /// <summary>
    /// The gemm module (<paramref name="module"/>: linear/linear.gemm or its .texel or .batched form) that declares each
    /// operand with its value's width (header of shaders/linear/linear.gemm.comp): the module itself where every operand
    /// is f32 or where A and C are activations and B a weight; else ".b_act" where B is f16 (unless B is read through a
    /// texel view, of either width) and ".c_float" where C is f32 (a weight gradient, partial sums).
    /// </summary>
    internal static string StorageVariant(string module, Value a, Value b, Value c, bool texelB)
    {
        var f16 = ElementType.F16;
        if (a.ElementType != f16 && b.ElementType != f16 && c.ElementType != f16) return module;
        if (b.ElementType == f16 && !texelB) module += ".b_act";
        if (c.ElementType != f16) module += ".c_float";
        return module;
    }
}
