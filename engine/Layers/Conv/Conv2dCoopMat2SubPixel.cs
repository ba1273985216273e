using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A UNet decoder's 3x3 convolution (stride 1, padding 1) of Concat(Upsample(a, 2x nearest), b), either order, by output
/// phase on cooperative_matrix2 matrices: conv2d.fwd_coopmat2's .subpixel variant. At output pixel (2i + py, 2j + px)
/// the kernel's three rows fall on rows i - 1, i, i of the small tensor for py = 0 and i, i, i + 1 for py = 1 (the same
/// along x), so the upsampled channels' 3x3 taps are 2x2 taps of a per phase, whose weights are sums of the 3x3 ones
/// (along an axis [w0, w1 + w2] and [w0 + w1, w2]; conv2d.pack_weight_f16.comp packs them, SUBPIXEL). Each workgroup
/// computes a tile of one phase's pixels (4 phases in z), its reduction running over a's channels by 2x2 taps and then
/// b's by 3x3 at full resolution: a's channels cost 4/9 of their multiply-adds. For the denoiser at 1920x1088 that is
/// 135 of its 609 GFLOP. The upsampled tensor and the concatenation are never written, as under the .concat variants.
/// The folded weights are rounded to f16 once (summed in f32), so results differ from the 3x3 form's by f16 rounding.
/// It never computes a plain convolution (<see cref="CooperativeMatrixSubPixelEntry.Accepts"/> is false: its candidates are
/// <see cref="ConcatCandidates"/>), needs tuning as <see cref="Conv2dCoopMat2"/> does (the tuner checks it against the
/// plain f32 kernel's result for each shape, and times it against the .concat kernels), runs in its .subgroup form on
/// Mesa 26's lavapipe when named, and has not run on a GPU yet.
/// </summary>
internal class Conv2dCoopMat2SubPixel : CooperativeMatrixSubPixelEntry
{
    /// <summary>Above <see cref="Conv2dCoopMat2"/>: where both are named, a decoder's convolution takes this one.</summary>
    public override int Priority => 10;

    public override bool Supports(DeviceInfo device) => CooperativeMatrix2Kernels.Usable(device) && Conv2dCoopMat2.Tiles(device, Layout).Any();

    /// <summary>
    /// One candidate per tile of <see cref="Conv2dCoopMat2"/> that fits, over a quarter of the output's pixels (one phase)
    /// per z, its weight packed per phase with Cin padded past both inputs' channels.
    /// </summary>
    public override IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope)
    {
        if (!AcceptsConcat(a, c, y.Shape)) return Enumerable.Empty<TuneCandidate>();
        int cout = y.Shape[1], cin = c.Full[1];
        var upsampled = c.Upsampled;
        return Conv2dCoopMat2.Tiled(e, a, Layout, c.Full, y.Shape, bias, act, slope, phases: 4, Math.Max(upsampled.Channels, cin - upsampled.Channels),
                (cop, cip) => Conv2dCoopMatPatch.SubPixelPack(e, cout, cin, upsampled, cop, cip))
            .Select(k => ConcatReads.Variant(k, c, ".subpixel") with { Flops = c.SubPixelFlops(y.Shape) });
    }
}

/// <summary><see cref="Conv2dCoopMat2SubPixel"/> over channels-last activations (conv2d.fwd_coopmat2.nhwc.subpixel).</summary>
internal sealed class Conv2dCoopMat2SubPixelNhwc : Conv2dCoopMat2SubPixel
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
