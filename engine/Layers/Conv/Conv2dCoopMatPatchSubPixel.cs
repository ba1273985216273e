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
internal class Conv2dCoopMatPatchSubPixel : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    /// <summary>Above <see cref="Conv2dCoopMatPatch"/>: where both are named, a decoder's convolution takes this one.</summary>
    public int Priority => 12;
    public bool NeedsTuning => true;
    public bool FusedOnly => true;

    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd_coopmat_patch", Layout);

    /// <summary>The layer whose patch b's segment stages: a 3x3 at stride 2 (the phase's pixels read every other b pixel).</summary>
    static ConvAttributes Strided(int cin, int cout) => new(cin, cout, (3, 3), (2, 2), (1, 1), (1, 1), 1, true);

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Conv2dCoopMatPatch.Tiles(device, Strided(16, 16), 16).Any();

    /// <summary>Never a plain convolution's kernel.</summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) => false;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope) =>
        Array.Empty<TuneCandidate>();

    /// <summary>A decoder's 3x3 over one input upsampled 2x (<see cref="ConcatInput.SubPixel"/>), at least 16 output channels.</summary>
    public bool AcceptsConcat(ConvAttributes a, ConcatInput c, Shape y) => c.SubPixel(a) && y[1] >= 16;

    public bool CanRunConcat(ConvAttributes a, ConcatInput c, Shape y) => AcceptsConcat(a, c, y);

    /// <summary>
    /// One candidate per tile that fits the stride-2 patch, over one phase's pixels per z, its weight packed per phase
    /// with Cin padded past both inputs' channels to the channel step.
    /// </summary>
    public IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope)
    {
        if (!AcceptsConcat(a, c, y.Shape)) yield break;
        var (n, cout, oh, ow) = y.Shape.Nchw;
        int cin = c.Full[1], s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        var upsampled = c.Upsampled;
        int step = Conv2dCoopMatPatch.ChannelStep, widest = Math.Max(upsampled.Channels, cin - upsampled.Channels);
        int cip = (widest + step - 1) / step * step, cop = (cout + 8 * s - 1) / (8 * s) * (8 * s);
        var pack = Conv2dCoopMatPatch.SubPixelPack(e, cout, cin, upsampled, cop, cip);
        // h x w: b's and the output's full resolution; oh x ow: the phase grid the tiles cover.
        var push = PushConstants.Ints(n, cin, cout, oh, ow, oh / 2, ow / 2, cop, cip);
        foreach (var (sgm, sgn, rows) in Conv2dCoopMatPatch.Tiles(e.Device, Strided(cin, cout), cout))
        {
            long tiles = (long)n * ((oh / 2 + rows * sgn - 1) / (rows * sgn)) * ((ow / 2 + s - 1) / s);
            if (tiles > e.Device.MaxWorkgroupCount[0]) continue;
            var constants = new[]
            {
                3u, 3u, 1u, 1u, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)sgm, (uint)sgn, (uint)rows, (uint)s,
                (uint)subgroup, 2u, 2u, 1u, 1u,
            };
            var spec = new KernelSpec(Module, KernelSpec.Buffers(4), 36, constants, (uint)(subgroup * sgm * sgn));
            var groups = ((uint)tiles, (uint)((cout + 2 * s * sgm - 1) / (2 * s * sgm)), 4u);
            var candidate = new TuneCandidate($"patch{sgm}x{sgn}r{rows}", spec, groups, push) { Prepare = pack };
            yield return ConcatReads.Variant(candidate, c, ".subpixel") with { Flops = c.SubPixelFlops(y.Shape) };
        }
    }
}

/// <summary><see cref="Conv2dCoopMatPatchSubPixel"/> over channels-last activations (conv2d.fwd_coopmat_patch.nhwc.subpixel).</summary>
internal sealed class Conv2dCoopMatPatchSubPixelNhwc : Conv2dCoopMatPatchSubPixel
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
