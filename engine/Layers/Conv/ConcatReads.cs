using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The ".concat" variants of the convolution kernels (shaders/include/concat_reads.glsl, <see cref="ConcatConv2d"/>): a
/// kernel reads its input (the forward's x, the weight gradient's shifted operand) as the channel concatenation of two
/// tensors, each upsampled by nearest neighbour by an integer scale on the way in. An entry sizes its candidates from the
/// concatenation's shape (<see cref="StandIn"/>); <see cref="Variant"/> turns one into its ".concat" form.
/// </summary>
internal static class ConcatReads
{
    /// <summary>A value of the concatenation's shape for an entry to size its candidates from: never bound or planned.</summary>
    public static Value StandIn(Shape full, Value first, string label) =>
        Value.StandIn(full, first.ElementType, first.Layout, $"{label} concatenated input");

    /// <summary>
    /// <paramref name="c"/>'s ".concat" variant, or another that <paramref name="suffix"/> names and that binds the two
    /// tensors the same way (conv2d.fwd_coopmat2's ".subpixel"; "" for a module of its own, conv2d.fwd_subpixel): the
    /// second tensor bound after the candidate's buffers, and the first tensor's channels and both scales in constants
    /// 20 C1, 21 SC1, 22 SC2 (those before them padded with zeros).
    /// </summary>
    public static TuneCandidate Variant(TuneCandidate c, ConcatInput input, string suffix = ".concat")
    {
        var s = c.Spec.WithConstants(20, (uint)input.First.Shape[1], (uint)input.FirstScale, (uint)input.SecondScale);
        return c with { Spec = s with { Module = s.Module + suffix, Bindings = s.Bindings.Append(BindingKind.StorageBuffer).ToArray() } };
    }
}

/// <summary>
/// A convolution's input that is the channel concatenation of <paramref name="First"/> and <paramref name="Second"/>,
/// each upsampled by nearest neighbour by its integer scale on the way in (<see cref="ConcatConv2d"/>); <paramref name="Full"/>
/// is the concatenation's shape and <see cref="StandIn"/> a value of it for entries to size their candidates from;
/// <paramref name="AllowSubPixel"/> (CompileOptions.SubPixelDecoders) whether a decoder's may go by sub-pixel phase.
/// </summary>
internal sealed record ConcatInput(Value First, int FirstScale, Value Second, int SecondScale, Shape Full, string Label, bool AllowSubPixel = true)
{
    public Value StandIn { get; } = ConcatReads.StandIn(Full, First, Label);

    /// <summary>
    /// Whether a 3x3, stride-1, padding-1 convolution (groups 1, no dilation) reads it with exactly one input upsampled
    /// 2x and the other as it is, and the compile allows it: a UNet decoder's, which a sub-pixel decomposition computes with 2x2 taps over the
    /// upsampled input (<see cref="Conv2dCoopMat2SubPixel"/>, <see cref="Conv2dCoopMatPatchSubPixel"/>, <see cref="Conv2dDirectSubPixel"/>, and the input gradients:
    /// <see cref="SubPixelGradients"/>).
    /// </summary>
    public bool SubPixel(ConvAttributes a) =>
        AllowSubPixel && a is { Kernel: (3, 3), Stride: (1, 1), Padding: (1, 1), Dilation: (1, 1), Groups: 1 }
        && ((FirstScale, SecondScale) is (2, 1) or (1, 2));

    /// <summary>
    /// The arithmetic of a sub-pixel decoder convolution with output <paramref name="y"/> (2 per multiply-add): per output
    /// pixel, 4 products per upsampled channel and 9 per other one.
    /// </summary>
    public double SubPixelFlops(Shape y) => 2.0 * y.Elements * (4 * Upsampled.Channels + 9 * (Full[1] - Upsampled.Channels));

    /// <summary>The upsampled input's channels and the first of them in the concatenation (under <see cref="SubPixel"/>).</summary>
    public (int Channels, int First) Upsampled => FirstScale == 2 ? (First.Shape[1], 0) : (Second.Shape[1], First.Shape[1]);
}
