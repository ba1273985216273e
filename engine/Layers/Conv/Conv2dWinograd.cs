using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_winograd.comp: the fp32 convolution forward for GPUs by Winograd's F(2x2, 3x3), for 3x3
/// layers of stride 1, dilation 1, groups 1 and at least 16 output channels: 16 multiplications per 2 x 2 output tile
/// and channel pair where the direct kernels take 36, at the price of transforming each input patch (in the kernel) and
/// the weight (a prepare pass, shaders/conv2d/conv2d.winograd_weight.comp, which also turns and swaps it for the
/// stride-1 input gradient: <see cref="FlippedTransform"/>). A workgroup computes 32 tiles by 32 output channels; the
/// candidates differ in the tiles' arrangement (8 x 4 or 16 x 2 tiles: 16 x 8 or 32 x 4 pixels). Chosen only where the compile tunes
/// (the GPU default), timed against the other entries per layer shape, like the tiled kernel; on lavapipe tests force
/// it by name. f16 activations go through its .f16 variant (f32 arithmetic); a concatenation is read through .concat.
/// </summary>
internal class Conv2dWinograd : IConv2dForward
{
    internal const string WeightModule = "conv2d/conv2d.winograd_weight";
    const int Tiles = 32, ChannelsPerGroup = 32, ChannelChunk = 8;
    /// <summary>Shared memory the kernel declares: the transformed input and weights of a chunk, 16 x 256 floats each.</summary>
    const int SharedBytes = 2 * 16 * ChannelChunk * Tiles * 4;

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 9;
    public bool Supports(DeviceInfo device) => device.MaxSharedMemoryBytes >= SharedBytes && device.MaxWorkgroupInvocations >= 256;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    /// <summary>Not yet timed on a GPU against the direct and tiled kernels: it runs where the compile tunes, timed against them.</summary>
    public bool NeedsTuning => true;
    public bool ReadsConcat => true;
    /// <summary>Every candidate: each 2 x 2 output tile is a window of the pool.</summary>
    public bool Pools(TuneCandidate candidate, DeviceInfo device) => true;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Kernel == (3, 3) && a.Stride == (1, 1) && a.Dilation == (1, 1) && y[1] >= 16 && y[0] <= 65535 &&
        Groups(y, 8).X <= 65535 && Groups(y, 16).X <= 65535;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (_, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        int cip = (cin + ChannelChunk - 1) / ChannelChunk * ChannelChunk, cop = (cout + ChannelsPerGroup - 1) / ChannelsPerGroup * ChannelsPerGroup;
        int pairs = checked(cip * cop);
        var transform = new TunePrepare(
            new KernelSpec(WeightModule, KernelSpec.Buffers(2), 20, new[] { 0u }, Emitter.ElementwiseLocal),
            e.ElementwiseGroups(pairs), PushConstants.Ints(pairs, cout, cin, cop, cip), Input: 1, checked(16 * pairs), ElementType.F32);
        var result = new List<TuneCandidate>();
        foreach (int tx in new[] { 8, 16 })
        {
            var constants = new[]
            {
                (uint)a.Padding.H, (uint)a.Padding.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
                (uint)cin, (uint)cout, (uint)h, (uint)wd, (uint)oh, (uint)ow, (uint)tx, (uint)cip, (uint)cop,
            };
            var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.fwd_winograd", y.Layout), KernelSpec.Buffers(4), 0, constants, 256);
            result.Add(new TuneCandidate($"f2x3.{tx}x{Tiles / tx}", spec, Groups(y.Shape, tx), Array.Empty<byte>()) { Prepare = transform });
        }
        return result;
    }

    /// <summary>The workgroups for tiles of <paramref name="tx"/> x 32 / tx 2 x 2 tiles.</summary>
    static (uint X, uint Y, uint Z) Groups(Shape y, int tx)
    {
        var (n, cout, oh, ow) = y.Nchw;
        long across = ((ow + 1) / 2 + tx - 1) / tx, down = ((oh + 1) / 2 + Tiles / tx - 1) / (Tiles / tx);
        return ((uint)Math.Min(across * down, uint.MaxValue), (uint)((cout + ChannelsPerGroup - 1) / ChannelsPerGroup), (uint)n);
    }

    /// <summary>
    /// <paramref name="transform"/> (this entry's weight transform) made to read the weight of the stride-1 3x3 layer
    /// <paramref name="a"/> turned by 180 degrees and with its channels swapped, the forward convolution of dY that is
    /// the layer's input gradient (Conv2dInputGradFlipped); null for any other prepare pass.
    /// </summary>
    internal static TunePrepare? FlippedTransform(TunePrepare transform, ConvAttributes a) =>
        transform.Spec.Module == WeightModule && a.Kernel == (3, 3) && a.Groups == 1
            ? transform with { Spec = transform.Spec with { Constants = new[] { 1u } } }
            : null;
}

/// <summary>
/// <see cref="Conv2dWinograd"/> over channels-last activations (conv2d.fwd_winograd.nhwc with its .concat, .pool and .dact
/// forms: the same sums in the same order): the fp32 forward the H200's tuner chose for most layers, in NHWC plans too.
/// </summary>
internal sealed class Conv2dWinogradNhwc : Conv2dWinograd
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
