using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The gradient of an activation fused into the layer before (a Conv2d and ReLU, say), taken by the convolution that
/// computes that layer's output gradient: the ".dact" variant of the chosen forward kernel
/// (shaders/include/act_grad_epilogue.glsl) multiplies each element of the input gradient it writes by the activation's
/// derivative, read from the activation's output <paramref name="Output"/>, so the gradient before the activation
/// leaves the kernel and no pass of its own (elementwise/unary.bwd) reads it back. The compiler offers it where that
/// activation's output has this one reader (<see cref="BackwardPass.InputActivations"/>); a gradient rule that takes it
/// says so (<see cref="BackwardPass.ActivatedGradInputs"/>). Only where the kernel the layer would run anyway has the
/// variant (the direct kernel's storage-buffer form, the tensor-core patch kernel; not their texel or channels-last
/// forms): the kernel choice never changes for it.
/// </summary>
internal sealed record ActivationGradient(Activation Activation, float Slope, Value Output)
{
    /// <summary>
    /// <paramref name="c"/>'s ".dact" form, the activation's output bound after the kernel's four buffers, where its module
    /// has one; else null. The candidate was made with this activation, which the variant reads as the one to differentiate.
    /// </summary>
    public TuneCandidate? Variant(TuneCandidate c) => PipelineStore.HasModule(c.Spec.Module + ".dact")
        ? c with { Spec = c.Spec with { Module = c.Spec.Module + ".dact", Bindings = c.Spec.Bindings.Append(BindingKind.StorageBuffer).ToArray() } }
        : null;
}
