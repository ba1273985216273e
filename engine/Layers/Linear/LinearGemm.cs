using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/linear/linear.gemm.comp: register-blocked GEMM (a 4x4 block of outputs per invocation, read
/// straight from global memory) with transpose flags, bias and activation baked as specialization constants.
/// Linear's forward entry on every device, and the product its gradient rule uses.
/// </summary>
internal sealed class LinearGemm : ILinearForward
{
    const int Block = 4;
    const uint LocalX = 8, LocalY = 8;
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
        var constants = new[]
        {
            transA ? 1u : 0u, transB ? 1u : 0u, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
            (uint)m, (uint)n, (uint)k,
        };
        var spec = new KernelSpec("linear/linear.gemm", KernelSpec.Buffers(4), 12, constants, LocalX, LocalY);
        uint colBlocks = (uint)((n + Block - 1) / Block), rowBlocks = (uint)((m + Block - 1) / Block);
        var groups = ((colBlocks + LocalX - 1) / LocalX, (rowBlocks + LocalY - 1) / LocalY, 1u);
        e.Dispatch(spec, groups, PushConstants.Ints(m, n, k), label, Arg.In(a), Arg.In(b), Arg.In(bias ?? b), Arg.Out(c));
    }
}
