using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's gradient rule (any fused activation is already undone by the compiler: dY is the pre-activation
/// gradient). dX is the transposed convolution of dY with the same weight; dW reduces dY x shifted x over the batch
/// and pixels; db sums dY per channel. Each takes the registry's entry for the device (<see cref="IConv2dInputGrad"/>,
/// <see cref="IConv2dWeightGrad"/>, <see cref="IConv2dBiasGrad"/>); ConvTranspose2d's gradient rule shares dW and db.
/// </summary>
internal static class Conv2dBackward
{
    public static void Emit(BackwardPass b, ConvAttributes a)
    {
        if (b.GradInput is { } dx)
        {
            if (b.InputPools[0] is { } pool && InputGradUnpooled(b.Emitter, a, b.GradOutput, b.Param("weight"), dx, pool,
                    $"{b.Name}.bwd_input+{pool.Pool}.bwd"))
                b.PooledGradInputs[0] = true;
            else b.ActivatedGradInputs[0] = InputGrad(b.Emitter, a, b.GradOutput, b.Param("weight"), dx, $"{b.Name}.bwd_input", b.InputActivations[0]);
        }
        bool biasWritten = WeightGrad(b.Emitter, a, b.GradOutput, b.Input, b.GradParam("weight"), $"{b.Name}.bwd_weight",
            a.Bias ? b.GradParam("bias") : null);
        if (a.Bias && !biasWritten) BiasGrad(b.Emitter, b.GradOutput, b.GradParam("bias"), $"{b.Name}.bwd_bias");
    }

    /// <summary>
    /// The input gradient through the <see cref="IConv2dInputGrad"/> entry the registry picks for the layer; where
    /// <paramref name="g"/> is given and that entry's kernel can take it, multiplied by the activation's derivative in its
    /// epilogue (<see cref="ActivationGradient"/>), and then true.
    /// </summary>
    public static bool InputGrad(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label, ActivationGradient? g = null)
    {
        int since = e.StepCount;
        var entry = InputGradEntry(e, a, dy, dx);
        bool activated = g != null && entry.EmitActivated(e, a, dy, w, dx, g, label);
        if (!activated) entry.Emit(e, a, dy, w, dx, label);
        e.AttributeFlops(since, label, ConvForward.Flops(a, dy.Shape)); // the forward's multiply-adds, run backwards
        return activated;
    }

    /// <summary>
    /// The input gradient through the registry's <see cref="IConv2dInputGrad"/> entry for the layer, written as the gradient
    /// of the max pool before it (<see cref="PoolGradient"/>), where that entry's kernel can take it: then true. False,
    /// with nothing emitted, elsewhere.
    /// </summary>
    static bool InputGradUnpooled(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, PoolGradient pool, string label)
    {
        int since = e.StepCount;
        if (!InputGradEntry(e, a, dy, dx).EmitUnpooled(e, a, dy, w, dx, pool, label)) return false;
        e.AttributeFlops(since, label, ConvForward.Flops(a, dy.Shape));
        return true;
    }

    /// <summary>The <see cref="IConv2dInputGrad"/> entry the registry picks for the layer's input gradient.</summary>
    static IConv2dInputGrad InputGradEntry(Emitter e, ConvAttributes a, Value dy, Value dx) =>
        KernelRegistry.Choose<IConv2dInputGrad>("conv2d.bwd_input", dx.ElementType, dx.Layout, e, k => k.Accepts(a, dy.Shape, dx.Shape));

    /// <summary>
    /// The weight gradient through the <see cref="IConv2dWeightGrad"/> entry the registry (or, tuning, the tuner) picks
    /// (<see cref="ConvWeightGrad"/>); with <paramref name="db"/> (plain is dY) true where that kernel wrote the bias
    /// gradient too.
    /// </summary>
    public static bool WeightGrad(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw, string label, Value? db = null)
    {
        int since = e.StepCount;
        bool biasWritten = ConvWeightGrad.Emit(e, a, plain, shifted, dw, label, db);
        e.AttributeFlops(since, label, ConvWeightGrad.Flops(plain, dw));
        return biasWritten;
    }

    /// <summary>The bias gradient through the <see cref="IConv2dBiasGrad"/> entry the registry picks for the emitter.</summary>
    public static void BiasGrad(Emitter e, Value dy, Value db, string label) =>
        KernelRegistry.Choose<IConv2dBiasGrad>("conv2d.bwd_bias", dy.ElementType, dy.Layout, e)
            .Emit(e, dy, db, label);
}
