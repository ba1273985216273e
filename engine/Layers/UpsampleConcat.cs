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

    /// <summary>The concat being replaced and, per input, the upsample folded into it (null: copied as is).</summary>
    public Concat Concat => concat;
    public IReadOnlyList<Upsample?> Upsamples => upsamples;

    internal override void Forward(ForwardPass f) => Emit(f.Emitter, f.Inputs, upsamples, f.Output, f.Name);

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Channels-last gradient (upsample.bwd.nhwc into, and concat.copy out of, the concatenation's gradient).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Writes the concatenation of <paramref name="inputs"/>, each through its upsample if it has one, into <paramref name="output"/>.</summary>
    internal static void Emit(Emitter e, IReadOnlyList<Value> inputs, IReadOnlyList<Upsample?> upsamples, Value output, string name)
    {
        int channel = 0, total = output.Shape[1];
        for (int i = 0; i < inputs.Count; i++)
        {
            var x = inputs[i];
            if (upsamples[i] is { } up) UpsampleKernels.Forward(e, x, output, up.Mode, up.Scale, total, channel, $"{name}.up{i}.fwd");
            else ConcatKernels.CopyIn(e, x, output, channel, $"{name}.fwd{i}");
            channel += x.Shape[1];
        }
    }

    internal override void Backward(BackwardPass b) => EmitBackward(b.Emitter, b.Inputs, upsamples, b.GradOutput, b.GradInputs, b.Name);

    /// <summary>
    /// The gradients <paramref name="gradInputs"/> (null where an input needs none) of the concatenation's
    /// <paramref name="inputs"/>, each through its upsample if it has one, from the concatenation's gradient <paramref name="gradOutput"/>.
    /// </summary>
    internal static void EmitBackward(Emitter e, IReadOnlyList<Value> inputs, IReadOnlyList<Upsample?> upsamples, Value gradOutput,
        IReadOnlyList<Value?> gradInputs, string name)
    {
        int channel = 0, total = gradOutput.Shape[1];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (gradInputs[i] is { } dx)
            {
                if (upsamples[i] is { } up) UpsampleKernels.Backward(e, gradOutput, dx, up.Mode, up.Scale, total, channel, $"{name}.up{i}.bwd");
                else ConcatKernels.CopyOut(e, gradOutput, dx, channel, $"{name}.bwd{i}");
            }
            channel += inputs[i].Shape[1];
        }
    }
}
