using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of the convolution bias gradient (operation "conv2d.bwd_bias"), shared by Conv2d and
/// ConvTranspose2d: db[c] = the sum of dY[:, c, :, :], written, not accumulated.
/// </summary>
internal interface IConv2dBiasGrad : IKernelEntry
{
    /// <summary>
    /// Whether the registry picks this entry on <paramref name="device"/> by priority (a GPU kernel declines a CPU device
    /// such as lavapipe). <see cref="IKernelEntry.Supports"/> says only whether it runs correctly there, so
    /// CompileOptions.PreferKernels can still force it (tests on lavapipe).
    /// </summary>
    bool PreferredOn(DeviceInfo device) => true;

    void Emit(Emitter e, Value dy, Value db, string label);
}
