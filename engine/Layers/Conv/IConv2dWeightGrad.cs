using Kiln.Graph;

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

    void Emit(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw, string label);
}
