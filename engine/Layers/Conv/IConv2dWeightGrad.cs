using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of the convolution weight gradient (operation "conv2d.bwd_weight"), shared by Conv2d
/// and ConvTranspose2d: dw[c1, c2l, ky, kx] = sum over b and the pixels p of <c>plain</c> of
/// plain[b, c1, p] * shifted[b, g * C2/groups + c2l, p * stride - pad + k * dilation] (g = c1's group), written, not
/// accumulated. Conv2d: plain = dY, shifted = x. ConvTranspose2d: plain = x, shifted = dY.
/// </summary>
internal interface IConv2dWeightGrad : IKernelEntry
{
    /// <summary>Whether the registry should pick this kernel for the layer (specialised kernels have limits).</summary>
    bool Accepts(ConvAttributes a, Shape plain, Shape shifted) => true;

    /// <summary>Whether the kernel's module has a ".concat" variant (shaders/Variants.props) that reads the shifted operand
    /// as the channel concatenation of two tensors upsampled by nearest neighbour on the way in (<see cref="ConcatConv2d"/>'s
    /// gradient): the first at binding 1, the other at binding 3 (<see cref="ConcatReads"/>). Such an entry's candidates
    /// must bind storage buffers.</summary>
    bool ReadsConcat => false;

    /// <summary>
    /// The ways this entry computes the layer's gradient, its default first, each binding (plain, shifted, dw), a split
    /// reduction through its <see cref="TuneCandidate.Finish"/>: what <see cref="ConvWeightGrad"/> runs or a tuner times.
    /// </summary>
    IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw);
}
