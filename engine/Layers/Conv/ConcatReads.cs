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
    /// <paramref name="c"/>'s ".concat" variant: the second tensor bound after the candidate's buffers, its constants padded
    /// to 20 and then the first tensor's channels and both scales (20 C1, 21 SC1, 22 SC2).
    /// </summary>
    public static TuneCandidate Variant(TuneCandidate c, Value first, int firstScale, int secondScale)
    {
        var s = c.Spec;
        if (s.Constants.Length > 20) throw new InvalidOperationException($"{s.Module}: its constants overlap the .concat variant's (20..22).");
        var constants = s.Constants.Concat(new uint[20 - s.Constants.Length]).Concat(new[] { (uint)first.Shape[1], (uint)firstScale, (uint)secondScale }).ToArray();
        return c with { Spec = s with { Module = s.Module + ".concat", Bindings = s.Bindings.Append(BindingKind.StorageBuffer).ToArray(), Constants = constants } };
    }
}
