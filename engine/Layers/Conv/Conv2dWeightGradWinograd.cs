using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.bwd_weight_winograd.comp: the fp32 weight gradient of 3x3 layers of stride 1, dilation 1 and
/// groups 1 by Winograd's F(2x2, 3x3), for GPUs (Conv2d's and ConvTranspose2d's): the sum over 2 x 2 tiles of the plain
/// operand's transformed tile times the shifted operand's transformed 4 x 4 patch, 16 multiplications per tile and
/// channel pair where the direct sum takes 36, then one output transform per weight. A workgroup computes 32 x 32
/// channel pairs over a split of the tiles; the tiles are split over workgroups as the other weight-gradient kernels
/// split their pixels (<see cref="Conv2dWeightGradTiled.Splits"/>), and reduce/partials adds the splits in order.
/// Not yet timed on a GPU, so like <see cref="Conv2dWinograd"/> it runs only where the compile tunes (timed against the
/// tiled kernel) or when named.
/// </summary>
internal class Conv2dWeightGradWinograd : IConv2dWeightGrad
{
    const string Module = "conv2d/conv2d.bwd_weight_winograd";
    const int Block = 32, TilesPerStep = 8;
    /// <summary>Shared memory the kernel declares: the step's transformed operands, 16 x 8 x 32 floats each.</summary>
    const int SharedBytes = 2 * 16 * TilesPerStep * Block * 4;

    public string Operation => "conv2d.bwd_weight";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 11;
    public bool Supports(DeviceInfo device) => device.MaxSharedMemoryBytes >= SharedBytes && device.MaxWorkgroupInvocations >= 256;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public bool NeedsTuning => true;
    public virtual bool ReadsConcat => true;

    /// <summary>3x3, stride 1, dilation 1, groups 1; at least 16 channels on the plain side (as the forward kernel takes
    /// at least 16 output channels: a narrower layer would mostly multiply the zeros padding the 32-channel blocks).</summary>
    public bool Accepts(ConvAttributes a, Shape plain, Shape shifted) =>
        a.Groups == 1 && a.Kernel == (3, 3) && a.Stride == (1, 1) && a.Dilation == (1, 1) && plain[1] >= 16 &&
        (long)plain[0] * ((plain[2] + 1) / 2) * ((plain[3] + 1) / 2) <= int.MaxValue &&
        (shifted[1] + Block - 1) / Block <= 65535 && (plain[1] + Block - 1) / Block <= 65535;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        long tiles = (long)n * ((ah + 1) / 2) * ((aw + 1) / 2);
        uint gx = (uint)((c2 + Block - 1) / Block), gy = (uint)((c1 + Block - 1) / Block);
        var (splits, stepsPerSplit) = Conv2dWeightGradTiled.Splits((long)gx * gy, tiles, TilesPerStep, dw.Shape.Elements, 1);
        var constants = new[]
        {
            (uint)a.Padding.H, (uint)a.Padding.W, (uint)n, (uint)c1, (uint)c2, (uint)ah, (uint)aw, (uint)qh, (uint)qw,
            splits > 1 ? (uint)(stepsPerSplit * TilesPerStep) : 0u,
        };
        var spec = new KernelSpec(ActivationLayouts.Module(Module, plain.Layout), KernelSpec.Buffers(3), 0, constants, 256);
        return new[]
        {
            new TuneCandidate("f2x3", spec, (gx, gy, (uint)splits), Array.Empty<byte>())
            {
                Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
            },
        };
    }
}

/// <summary>
/// <see cref="Conv2dWeightGradWinograd"/> over channels-last dY and x (conv2d.bwd_weight_winograd.nhwc, with its .bias
/// form: the same sums in the same order): the fp32 weight gradient the H200's tuner chose for most layers, in NHWC plans
/// too. No .concat form: a decoder's channels-last weight gradient reads its written concatenation or goes by sub-pixel
/// phase.
/// </summary>
internal sealed class Conv2dWeightGradWinogradNhwc : Conv2dWeightGradWinograd
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    public override bool ReadsConcat => false;
}
