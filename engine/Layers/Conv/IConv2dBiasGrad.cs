using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of the convolution bias gradient (operation "conv2d.bwd_bias"), shared by Conv2d and
/// ConvTranspose2d: db[c] = the sum of dY[:, c, :, :], written, not accumulated.
/// </summary>
internal interface IConv2dBiasGrad : IKernelEntry
{

    void Emit(Emitter e, Value dy, Value db, string label);
}
