using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A <see cref="Conv2d"/> (groups 1) whose input is the channel concatenation of two tensors, either or both upsampled
/// by nearest neighbour on the way in: what the compiler's fusion pass makes of a UNet decoder's
/// <c>Conv2d(Concat(Upsample(x), skip))</c>, when the concatenation feeds only the convolution.
/// Its kernel (the ".concat" variant of an entry that has one, <see cref="IConv2dForward.ReadsConcat"/>: the direct,
/// tiled, Winograd and both tensor-core kernels) reads every input channel from its own tensor, so neither the concatenation
/// nor the upsampled tensor is ever written and read back. Where no such entry takes the layer (texel reads, the default
/// on CPU devices; a shape only other kernels take) it writes the concatenation to a transient and runs the plain
/// convolution. Either way the values that reach the arithmetic are the unfused ones. In a training plan the weight
/// gradient reads both inputs the same way, through the ".concat" variant of its kernel where the registry's (or the
/// tuner's) has one (<see cref="ConvWeightGrad.EmitConcat"/>: the tiled, Winograd and both tensor-core kernels, the GPU's); else
/// it reads the concatenation the forward wrote, or one the gradient rule writes just before it (so it is not kept from
/// the forward pass to the backward one). For a UNet decoder's 3x3 over one input upsampled 2x the gradients go by
/// sub-pixel phase instead (<see cref="SubPixelGradients"/>: the upsampled channels' parts through 4x4 taps at its own
/// resolution, 4/9 of the products; no concatenation, its gradient or an upsample's backward); otherwise the input
/// gradient is the concatenation's, split into its inputs' gradients as the unfused concat (and upsample) would. In a
/// channels-last training plan either way runs on the NHWC kernels, the weight gradient then reading the forward's
/// written concatenation. Exists only in compiled plans (no receptive step).
/// </summary>
internal sealed class ConcatConv2d : Layer
{
    readonly Conv2d conv;
    readonly string name;
    readonly Concat concat;
    readonly IReadOnlyList<Upsample?> upsamples;
    /// <summary>The concatenation the forward wrote where no kernel read its inputs (this compile's: the compiler makes a layer per plan).</summary>
    Value? written;

    /// <param name="conv">The convolution.</param>
    /// <param name="name">The convolution's node: its parameters keep the node's name.</param>
    /// <param name="concat">The concatenation of two inputs it reads.</param>
    /// <param name="upsamples">Per input, the nearest-neighbour upsample folded into it, or null.</param>
    public ConcatConv2d(Conv2d conv, string name, Concat concat, IReadOnlyList<Upsample?> upsamples)
    {
        if (conv.Attributes.Groups != 1) throw new ArgumentException("concat_conv2d: grouped convolutions read their input by group; keep the concat.");
        if (upsamples.Count != 2 || upsamples.Any(u => u != null && u.Mode != UpsampleMode.Nearest))
            throw new ArgumentException("concat_conv2d: two inputs, upsampled by nearest neighbour if at all.");
        this.conv = conv;
        this.name = name;
        this.concat = concat;
        this.upsamples = upsamples;
    }

    public override string Kind => "concat_conv2d";
    public override int? InputCount => 2;

    public override IReadOnlyList<ParameterSpec> Parameters => conv.Parameters.Select(p => p with { Name = $"{name}.{p.Name}" }).ToList();

    Shape Concatenated(IReadOnlyList<Shape> inputs) =>
        concat.OutputShape(inputs.Select((s, i) => upsamples[i]?.OutputShape(new[] { s }) ?? s).ToList());

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs.Count != 2) throw Mismatch($"concat_conv2d: two inputs, got {inputs.Count}.");
        return conv.OutputShape(new[] { Concatenated(inputs) });
    }

    internal override void Forward(ForwardPass f)
    {
        var e = f.Emitter;
        var a = conv.Attributes;
        var (w, bias) = (f.Param($"{name}.weight"), a.Bias ? f.Param($"{name}.bias") : null);
        var full = Concatenated(f.Inputs.Select(v => v.Shape).ToList());
        string label = $"{f.Name}.fwd";
        if (ConvForward.EmitConcat(e, a, Input(e, f.Inputs, full, label), w, bias, f.Output, f.Activation, f.Slope, label)) return;
        var x = written = e.NewValue(full, ValueKind.Transient, $"{f.Name}.concat", f.Inputs[0].ElementType, f.Output.Layout);
        UpsampleConcat.Emit(e, f.Inputs, upsamples, x, $"{f.Name}.concat");
        ConvForward.Emit(e, a, x, w, bias, f.Output, f.Activation, f.Slope, label);
    }

    /// <summary>The two inputs as the kernels read them: each with the scale of its upsample.</summary>
    ConcatInput Input(Emitter e, IReadOnlyList<Value> inputs, Shape full, string label) =>
        new(inputs[0], upsamples[0]?.Scale ?? 1, inputs[1], upsamples[1]?.Scale ?? 1, full, label, e.SubPixel);

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>
    /// Stride 1 (Conv2dInputGradFlippedNhwc): channels-last, a decoder's gradients by sub-pixel phase (SubPixelGradients:
    /// convolutions and weight gradients the NHWC kernels take), any other's through the concatenation, written for the
    /// weight gradient and split for the inputs' (the NHWC kernels have no ".concat" gradient forms).
    /// </summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => Conv2dInputGradFlipped.Takes(conv.Attributes);

    internal override void Backward(BackwardPass b)
    {
        var e = b.Emitter;
        var a = conv.Attributes;
        var dy = b.GradOutput;
        var full = Concatenated(b.Inputs.Select(v => v.Shape).ToList());
        // A decoder's 3x3 over a 2x upsample takes its gradients by sub-pixel phase (the upsampled input's through 4x4 taps
        // at its own resolution); any other writes the concatenation's gradient and splits it, and reads the concatenation
        // for the weight gradient.
        var subPixel = Input(e, b.Inputs, full, $"{b.Name}.bwd_input");
        if (!subPixel.SubPixel(a)) subPixel = null;
        var gx = subPixel == null && b.GradInputs.Any(g => g != null)
            ? e.NewValue(full, ValueKind.Transient, $"{b.Name}.grad_concat", b.Inputs[0].ElementType, dy.Layout) : null;
        if (gx != null) Conv2dBackward.InputGrad(e, a, dy, b.Param($"{name}.weight"), gx, $"{b.Name}.bwd_input");
        if (subPixel != null) SubPixelGradients.EmitInputs(e, a, subPixel, dy, b.Param($"{name}.weight"), b, $"{b.Name}.bwd_input");
        var dw = b.GradParam($"{name}.weight");
        // The bias gradient, where the weight gradient's kernel doesn't write it too.
        var db = a.Bias ? b.GradParam($"{name}.bias") : null;
        bool biasWritten;
        if (subPixel != null) biasWritten = SubPixelGradients.EmitWeight(e, a, subPixel, dy, dw, db, $"{b.Name}.bwd_weight");
        else if (written != null
            || !ConvWeightGrad.EmitConcat(e, a, dy, Input(e, b.Inputs, full, $"{b.Name}.bwd_weight"), dw, $"{b.Name}.bwd_weight", db, out biasWritten))
        {
            // The forward's concatenation, in this rule's layout (a strided decoder's forward may have run channels-last).
            var x = written == null ? null : e.InLayout(written, dy.Layout);
            if (x == null)
            {
                x = e.NewValue(full, ValueKind.Transient, $"{b.Name}.concat", b.Inputs[0].ElementType, dy.Layout);
                UpsampleConcat.Emit(e, b.Inputs, upsamples, x, $"{b.Name}.concat");
            }
            biasWritten = Conv2dBackward.WeightGrad(e, a, dy, x, dw, $"{b.Name}.bwd_weight", db);
        }
        if (db != null && !biasWritten) Conv2dBackward.BiasGrad(e, dy, db, $"{b.Name}.bwd_bias");
        if (gx != null) UpsampleConcat.EmitBackward(e, b.Inputs, upsamples, gx, b.GradInputs, $"{b.Name}.concat");
    }
}
