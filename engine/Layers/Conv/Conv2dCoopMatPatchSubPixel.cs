using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A UNet decoder's 3x3 convolution (stride 1, padding 1) of Concat(Upsample(a, 2x nearest), b), either order, by output
/// phase on KHR cooperative matrices: conv2d.fwd_coopmat_patch's .subpixel variant, the decomposition of
/// <see cref="Conv2dCoopMat2SubPixel"/> in the patch kernel's form (<see cref="Conv2dCoopMatPatch"/>), so devices without
/// cooperative_matrix2 have it too. A workgroup computes a tile of one phase's pixels (4 phases in z): it stages a's patch
/// at a's resolution and reads the phase's 2x2 taps from it (summed weights, packed per phase by
/// conv2d.pack_weight_f16.comp, SUBPIXEL), then b's patch of the stride-2 layer that the phase's pixels read at full
/// resolution and its 9 taps at column stride 2. a's channels cost 4/9 of their multiply-adds; b's patch is about four
/// times the phase tile's pixels (the price of the stride), so whether it beats the .concat kernel, which stages the
/// concatenation's patch once per output tile, is the tuner's to say. The upsampled tensor and the concatenation are never
/// written. Tiles are <see cref="Conv2dCoopMatPatch.Tiles"/> of that stride-2 layer (its larger patch). Like the other
/// sub-pixel kernels it needs tuning (checked there against the plain f32 kernel), never takes a plain convolution, runs
/// on Mesa 26's lavapipe when named, and has not run on a GPU yet.
/// </summary>
internal class Conv2dCoopMatPatchSubPixel : CooperativeMatrixSubPixelEntry
{
    /// <summary>Above <see cref="Conv2dCoopMatPatch"/>: where both are named, a decoder's convolution takes this one.</summary>
    public override int Priority => 12;

    /// <summary>The layer whose patch b's segment stages: a 3x3 at stride 2 (the phase's pixels read every other b pixel).</summary>
    static ConvAttributes Strided(int cin, int cout) => new(cin, cout, (3, 3), (2, 2), (1, 1), (1, 1), 1, true);

    public override bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Conv2dCoopMatPatch.Tiles(device, Strided(16, 16), 16).Any();

    /// <summary>
    /// One candidate per tile that fits the stride-2 patch (its constants those of the stride-2 layer), over one phase's
    /// pixels per z, its weight packed per phase with Cin padded past both inputs' channels to the channel step.
    /// </summary>
    public override IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope)
    {
        if (!AcceptsConcat(a, c, y.Shape)) return Enumerable.Empty<TuneCandidate>();
        var (n, cout, oh, ow) = y.Shape.Nchw;
        int cin = c.Full[1];
        var upsampled = c.Upsampled;
        var (cop, cip) = Conv2dCoopMatPatch.Padded(e.Device, cout, Math.Max(upsampled.Channels, cin - upsampled.Channels));
        // h x w: b's and the output's full resolution; oh x ow: the phase grid the tiles cover.
        var push = PushConstants.Ints(n, cin, cout, oh, ow, oh / 2, ow / 2, cop, cip);
        return Conv2dCoopMatPatch.Tiled(e, Strided(cin, cout), ActivationLayouts.Module("conv2d/conv2d.fwd_coopmat_patch", Layout), n, cout,
                (oh / 2, ow / 2), bias, act, slope, push, Conv2dCoopMatPatch.SubPixelPack(e, cout, cin, upsampled, cop, cip), phases: 4)
            .Select(k => ConcatReads.Variant(k, c, ".subpixel") with { Flops = c.SubPixelFlops(y.Shape) });
    }
}

/// <summary><see cref="Conv2dCoopMatPatchSubPixel"/> over channels-last activations (conv2d.fwd_coopmat_patch.nhwc.subpixel).</summary>
internal sealed class Conv2dCoopMatPatchSubPixelNhwc : Conv2dCoopMatPatchSubPixel
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
