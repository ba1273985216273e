using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A <see cref="Concat"/> whose inputs may each carry an <see cref="Upsample"/> applied on the way in: what the compiler's
/// fusion pass makes of a UNet decoder's <c>Concat(Upsample(x), skip)</c> when the upsample's output is used nowhere else.
/// Forward, an upsampled input is interpolated straight into its channel slice of the output (upsample.fwd with CTOT, C0),
/// so the upsampled tensor is never written and read back; the other inputs are copied as Concat copies them. Backward, an
/// upsampled input's gradient gathers from its slice of the output gradient directly (upsample.bwd with CTOT, C0) instead
/// of from a copy of the slice. Every value computed is the one the unfused Upsample and Concat compute (same kernels, same
/// arithmetic), so the results are bit-identical.
/// No <see cref="Layer.ReceptiveStep"/>: this layer exists only in compiled plans, and receptive fields are walked on the
/// source network (its Upsample and Concat nodes).
/// </summary>
internal sealed class UpsampleConcat : Layer
{
    readonly Concat concat;
    readonly IReadOnlyList<Upsample?> upsamples;

    /// <param name="concat">The concat being replaced.</param>
    /// <param name="upsamples">Per concat input: the upsample folded into it, or null for an input copied as is.</param>
    public UpsampleConcat(Concat concat, IReadOnlyList<Upsample?> upsamples)
    {
        if (upsamples.All(u => u == null)) throw new ArgumentException("upsample_concat: no input carries an upsample; use Concat.");
        this.concat = concat;
        this.upsamples = upsamples;
    }

    public override string Kind => "upsample_concat";
    public override int? InputCount => upsamples.Count;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs.Count != upsamples.Count) throw Mismatch($"upsample_concat: built for {upsamples.Count} inputs, got {inputs.Count}.");
        return concat.OutputShape(inputs.Select((s, i) => upsamples[i]?.OutputShape(new[] { s }) ?? s).ToList());
    }

    internal override void Forward(ForwardPass f)
    {
        int channel = 0, total = f.Output.Shape[1];
        for (int i = 0; i < f.Inputs.Length; i++)
        {
            var x = f.Inputs[i];
            if (upsamples[i] is { } up) UpsampleKernels.Forward(f.Emitter, x, f.Output, up.Mode, up.Scale, total, channel, $"{f.Name}.up{i}.fwd");
            else ConcatKernels.CopyIn(f.Emitter, x, f.Output, channel, $"{f.Name}.fwd{i}");
            channel += x.Shape[1];
        }
    }

    internal override void Backward(BackwardPass b)
    {
        int channel = 0, total = b.Output.Shape[1];
        for (int i = 0; i < b.Inputs.Length; i++)
        {
            if (b.GradInputs[i] is { } dx)
            {
                if (upsamples[i] is { } up) UpsampleKernels.Backward(b.Emitter, b.GradOutput, dx, up.Mode, up.Scale, total, channel, $"{b.Name}.up{i}.bwd");
                else ConcatKernels.CopyOut(b.Emitter, b.GradOutput, dx, channel, $"{b.Name}.bwd{i}");
            }
            channel += b.Inputs[i].Shape[1];
        }
    }
}
