using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The gradient of a 2x2, stride-2 max pool taken by the kernel that computes the gradient of the pool's output, so the
/// pooled gradient is never stored and the pool's own pass (shaders/pool/pool.bwd.comp) does not run: the kernel writes
/// <paramref name="Gradient"/>, the gradient of the pool's input <paramref name="Input"/>, each of its results going to
/// the first maximum of its window and 0 to the window's other elements; where <paramref name="Through"/> is given (an
/// activation fused into the layer before the pool, as <see cref="ActivationGradient"/> would offer it to the pool's
/// rule, with the other reader's gradient as its addend) the gradient leaves through the activation's derivative, the
/// whole gradient before it. The compiler offers it to the rule of the pool's one reader where the pool's input has an
/// even height and width (<see cref="BackwardPass.InputPools"/>); a rule that takes it says so
/// (<see cref="BackwardPass.PooledGradInputs"/>). So far a convolution's stride-1 input gradient run by the flipped
/// forward kernel (<see cref="Conv2dInputGradFlipped"/>) takes it, in the ".unpool" variant
/// (shaders/include/unpool_epilogue.glsl) of the direct kernel's storage-buffer form, the Winograd kernel, the tensor-core
/// patch kernel (and its shared-weight form) and cooperative_matrix2's gathered form (either scope), in both layouts, and
/// its tensor-addressed form (NCHW, tiles whose f16 result tile fits: <see cref="IConv2dForward.TakesPoolGradient"/>). Untuned, only where the kernel the layer would run with <see cref="Activation"/> has the variant, so the
/// choice never changes for it; tuned, the fastest kernel with the variant, timed and checked as it
/// (<see cref="ConvForward.ChooseEpilogue"/>; that activation in the tuning key, as for the ".dact" gradients).
/// <paramref name="Pool"/> is the pool's name, for the dispatch's label.
/// </summary>
internal sealed record PoolGradient(Value Input, Value Gradient, ActivationGradient? Through, string Pool)
{
    /// <summary>The specialization constant of the ".unpool" variants that says the addend is read (UNPOOL_SUM).</summary>
    const int SumConstant = 40;

    /// <summary>
    /// <paramref name="c"/> (a candidate made with <see cref="Through"/>'s activation, the one to differentiate) in its
    /// module's ".unpool" variant, binding the pool's input and the addend after its four buffers, where the module has
    /// one; else null.
    /// </summary>
    public TuneCandidate? Variant(TuneCandidate c)
    {
        var module = c.Spec.Module + ".unpool";
        if (!PipelineStore.HasModule(module)) return null;
        var bindings = c.Spec.Bindings.Concat(KernelSpec.Buffers(2)).ToArray();
        return c with { Spec = (c.Spec with { Module = module, Bindings = bindings }).WithConstants(SumConstant, Through?.Addend != null ? 1u : 0u) };
    }

    /// <summary>The activation the kernel differentiates (none: the pool's gradient as it is).</summary>
    public Activation Activation => Through?.Activation ?? Activation.None;
    public float Slope => Through?.Slope ?? 0;

    /// <summary>The variant's bindings after a conv-forward kernel's four (x, w, bias, y): y is <see cref="Gradient"/>, then
    /// the pool's input and the addend (where there is none, the pool's input again, never read).</summary>
    public Arg[] Args(Value x, Value w, Value? bias) =>
        new[] { Arg.In(x), Arg.In(w), Arg.In(bias ?? w), Arg.Out(Gradient), Arg.In(Input), Arg.In(Through?.Addend ?? Input) };
}
