using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The gradient of an activation fused into the layer before (a Conv2d and ReLU, say), taken by the kernel that writes
/// the gradient of that activation's output, so the gradient before the activation leaves it and no pass of its own
/// (elementwise/unary.bwd) reads it back. The compiler offers it to the last of the output's readers whose gradient rule
/// runs, where the output has one or two readers (<see cref="BackwardPass.InputActivations"/>), with the other's
/// gradient as <paramref name="Addend"/>; a rule that takes it says so (<see cref="BackwardPass.ActivatedGradInputs"/>):
/// - a convolution's input gradient, one reader: the ".dact" variant of the chosen forward kernel
///   (shaders/include/act_grad_epilogue.glsl) multiplies each element by the derivative read from
///   <paramref name="Output"/>; untuned, only where the kernel the layer would run anyway has the variant, so the kernel
///   choice never changes for it; tuned, the fastest kernel with the variant, timed and checked as it
///   (<see cref="ConvForward.ChooseEpilogue"/>, and the phased gradients' own). Every NCHW forward kernel that computes input gradients has it (the direct kernel's
///   storage-buffer form, the tiled and Winograd kernels, the tensor-core patch and im2col kernels, cooperative_matrix2's
///   in both scopes and its tensor-addressed form), so it holds whichever one the tuner picks; so do the channels-last
///   forms of the direct, patch and cooperative_matrix2 kernels (a channels-last training plan's); texel-read forms
///   and the tensor-addressed NHWC form have none;
/// - a Linear's input gradient, one reader: the ".dact" form of the product kernel the layer would run anyway (tuned, the
///   fastest single-pass one timed as it), or where that product splits its reduction, the split's ordered sum in
///   reduce/partials.dact (shaders/include/product_epilogue.glsl;
///   <see cref="LinearProducts.EmitActivationGradient"/>); the plain (texel reads too), tiled, tensor-core and
///   cooperative_matrix2 GEMMs all have it;
/// - through a view (Flatten, Reshape) that alone reads the output, which it alone reads: the activation offered to the
///   view's one reader, the output seen in the view's shape (a convolution's flattened into a Linear, a Linear's reshaped
///   into a transposed convolution: the autoencoders'); the view passes the gradient on as it is;
/// - a max pool's gradient (shaders/pool/pool.bwd.comp), which reads that output already: the addend too, as a UNet
///   encoder's output read by its pool and by a decoder; or, where the convolution reading the pool takes the pool's
///   gradient (<see cref="PoolGradient.Through"/>), that convolution's input-gradient kernel;
/// - a loss's gradient (MSE, L1, Huber and the masked ones: shaders/include/loss_act.glsl), whose prediction is that
///   output (a UNet's final sigmoid), read there already; no addend (<see cref="LossKernels.TakeActivation"/>).
/// </summary>
internal sealed record ActivationGradient(Activation Activation, float Slope, Value Output, Value? Addend = null)
{
    /// <summary>
    /// <paramref name="c"/>'s ".dact" form, the activation's output bound after the kernel's four buffers, where its module
    /// has one and there is no addend (the variant adds none); else null. The candidate was made with this activation,
    /// which the variant reads as the one to differentiate.
    /// </summary>
    public TuneCandidate? Variant(TuneCandidate c) => Addend == null ? c.WithBufferVariant(".dact") : null;
}
