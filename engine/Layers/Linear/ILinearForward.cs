using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of Linear's products (operation "linear.fwd": the forward y = act(x W^T + b) and, through
/// the same entry, the backward's dX = dY W and dW = dY^T X), run by <see cref="LinearProducts"/>.
/// </summary>
internal interface ILinearForward : IKernelEntry
{
    /// <summary>The untuned dispatch of the product (a split's finish, <see cref="LinearProducts.Dispatch"/>, adds the bias
    /// and activation too), or null where the entry leaves this product to the plain kernel.</summary>
    TuneCandidate? Default(Emitter e, GemmCall g);

    /// <summary>The dispatches a tuner may time for the product (names unique per entry): each binds A, B, the bias (B's
    /// buffer when there is none) and C, or, with a finish (the ordered sum with the bias and activation, which writes C in
    /// its element type), f32 partial sums in C's place.</summary>
    IReadOnlyList<TuneCandidate> Candidates(Emitter e, GemmCall g);
}

/// <summary>One product C[m,n] = act(op(A) op(B) + bias) as <see cref="LinearGemm.Gemm"/> takes it.</summary>
internal sealed record GemmCall(Value A, bool TransA, Value B, bool TransB, Value? Bias, Value C, int M, int N, int K, Activation Act, float Slope)
{
    public Arg[] Args => new[] { Arg.In(A), Arg.In(B), Arg.In(Bias ?? B), Arg.Out(C) };

    public override string ToString() =>
        $"{M}x{N}x{K}|{(TransA ? "At" : "A")}{(TransB ? "Bt" : "B")}|{A.ElementType.Name()},{B.ElementType.Name()},{C.ElementType.Name()}|{(Bias != null ? "bias" : "no bias")}|{Act}";
}
