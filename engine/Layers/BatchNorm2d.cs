using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Batch normalisation over [N, C, H, W] (PyTorch's BatchNorm2d with affine and tracked running statistics):
/// weight (ones) and bias (zeros) are learned; running_mean (zeros) and running_var (ones) are state. In a training
/// step the batch mean and biased variance normalise and the running statistics move by momentum towards the
/// batch mean and unbiased variance; otherwise the running statistics normalise. With
/// <see cref="UseRunningStatistics"/> (the evaluation form, e.g. an imported inference graph) the running statistics
/// normalise in every step, are never updated, and the gradient treats them as constants.
/// </summary>
public sealed class BatchNorm2d : Layer
{
    /// <param name="numFeatures">Channels C of the [N, C, H, W] input.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="momentum">Weight of the batch statistics in the running-statistics update of a training step.</param>
    /// <param name="useRunningStatistics">Evaluation form in every step, training steps included: normalise with the
    /// running statistics, leave them unchanged, differentiate with them held constant.</param>
    public BatchNorm2d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool useRunningStatistics = false)
    {
        if (numFeatures <= 0) throw new ArgumentException($"batchnorm2d: num_features must be positive, got {numFeatures}.");
        if (!(eps > 0)) throw new ArgumentException($"batchnorm2d: eps must be positive, got {eps}.");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"batchnorm2d: momentum must be in [0, 1], got {momentum}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        UseRunningStatistics = useRunningStatistics;
    }

    public int NumFeatures { get; }
    public float Eps { get; }
    public float Momentum { get; }
    /// <summary>True for the evaluation form in every step (see the constructor); false: batch statistics in training steps.</summary>
    public bool UseRunningStatistics { get; }
    public override string Kind => "batchnorm2d";

    public override IReadOnlyList<ParameterSpec> Parameters => new ParameterSpec[]
    {
        new("weight", new Shape(NumFeatures), ParameterInit.Ones),
        new("bias", new Shape(NumFeatures), ParameterInit.Zeros),
        new("running_mean", new Shape(NumFeatures), ParameterInit.Zeros, Trainable: false),
        new("running_var", new Shape(NumFeatures), ParameterInit.Ones, Trainable: false),
    };

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4) throw Mismatch($"batchnorm2d takes [N, {NumFeatures}, H, W], got {x}.");
        if (x[1] != NumFeatures) throw Mismatch($"batchnorm2d expects {NumFeatures} channels, got {x[1]} ({x}).");
        return x;
    }

    /// <summary>Values per workgroup of the statistics passes (shaders/batchnorm/batchnorm.stats.comp, bwd_stats).</summary>
    const int Chunk = 4096;
    /// <summary>Their workgroup size (REDUCE_SIZE in those shaders).</summary>
    const uint StatsLocal = 256;

    /// <summary>
    /// The training form: batchnorm.stats writes each chunk's mean and squared deviations (many workgroups per channel),
    /// batchnorm.finish merges them into the batch statistics (kept for the gradient) and moves the running ones, and
    /// batchnorm.apply normalises elementwise. The evaluation form is batchnorm.apply alone, from the running statistics.
    /// </summary>
    internal override void Forward(ForwardPass f)
    {
        var x = f.Input.Shape;
        bool batchStatistics = f.Training && !UseRunningStatistics;
        var e = f.Emitter;
        if (!batchStatistics)
        {
            Apply(f, 0, f.Param("running_mean"), f.Param("running_var"));
            return;
        }
        if (x[0] * x[2] * x[3] < 2)
            throw new GraphException($"{f.Name}: batchnorm2d needs more than one value per channel to train, got {x}.");
        var (chunks, push) = Reduction(f.Name, x);
        var partials = e.NewValue(new Shape(x[1], chunks, 2), ValueKind.Transient, $"{f.Name}.stats_partials");
        var stats = e.NewValue(new Shape(2, x[1]), ValueKind.Transient, $"{f.Name}.stats");
        var statsSpec = new KernelSpec(ActivationLayouts.Module("batchnorm/batchnorm.stats", f.Input.Layout), KernelSpec.Buffers(2), 16,
            new[] { (uint)Chunk }, StatsLocal);
        e.Dispatch(statsSpec, ((uint)chunks, (uint)x[1], 1), push, $"{f.Name}.stats", Arg.In(f.Input), Arg.Out(partials));
        e.Dispatch(new KernelSpec("batchnorm/batchnorm.finish", KernelSpec.Buffers(4), 16,
                new[] { (uint)Chunk, KernelSpec.Word(Eps), KernelSpec.Word(Momentum) }, Emitter.ElementwiseLocal),
            e.ElementwiseGroups(x[1]), push, $"{f.Name}.stats.finish",
            Arg.In(partials), Arg.InOut(f.Param("running_mean")), Arg.InOut(f.Param("running_var")), Arg.Out(stats));
        f.Save("stats", stats);
        Apply(f, 1, stats, stats);
    }

    /// <summary>batchnorm.apply: y from x and the statistics in mean and var (running, or the batch's in one [2, C] value).</summary>
    void Apply(ForwardPass f, uint fromStats, Value mean, Value var)
    {
        var x = f.Input.Shape;
        var spec = new KernelSpec(ActivationLayouts.Module("batchnorm/batchnorm.apply", f.Input.Layout), KernelSpec.Buffers(6), 12,
            new[] { fromStats, KernelSpec.Word(Eps) }, Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.VectorGroups(x.Elements), PushConstants.Ints((int)x.Elements, x[1], x[2] * x[3]), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.In(f.Param("weight")), Arg.In(f.Param("bias")), Arg.In(mean), Arg.In(var), Arg.Out(f.Output));
    }

    /// <summary>The statistics passes' chunks of each channel's N*H*W values and their push constants (n, c, hw, chunks).</summary>
    static (int Chunks, byte[] Push) Reduction(string name, Shape x)
    {
        long m = (long)x[0] * x[2] * x[3];
        long chunks = (m + Chunk - 1) / Chunk;
        if (chunks > 65535 || x[1] > 65535)
            throw new GraphException($"{name}: batchnorm2d over {x} is too large to train ({m} values a channel, {x[1]} channels; at most {65535L * Chunk} and 65535).");
        return ((int)chunks, PushConstants.Ints(x[0], x[1], x[2] * x[3], (int)chunks));
    }

    /// <summary>
    /// This batch norm's evaluation form folded into the convolution before it (inference plans, the compiler's fold pass):
    /// with s = weight / sqrt(running_var + eps), the weight <paramref name="w"/> [Cout, ...] scaled by s per output channel
    /// and the bias (<paramref name="b"/> - running_mean) s + bias (b 0 where the convolution has none), written by
    /// shaders/batchnorm/batchnorm.fold.comp into derived values each step. <paramref name="norm"/>: this layer's parameters
    /// by name.
    /// </summary>
    internal (Value Weight, Value Bias) EmitFold(Emitter e, Value w, Value? b, IReadOnlyDictionary<string, Value> norm, string label)
    {
        int cout = w.Shape[0];
        long weights = w.Shape.Elements;
        var folded = e.NewValue(w.Shape, ValueKind.Derived, $"{label}.folded_weight");
        var bias = e.NewValue(new Shape(cout), ValueKind.Derived, $"{label}.folded_bias");
        var spec = new KernelSpec("batchnorm/batchnorm.fold", KernelSpec.Buffers(8), 12, new[] { b != null ? 1u : 0u, KernelSpec.Word(Eps) },
            Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(weights + cout), PushConstants.Words((uint)weights, (uint)(weights / cout), (uint)cout), $"{label}.fold",
            Arg.In(w), Arg.In(b ?? w), Arg.In(norm["weight"]), Arg.In(norm["bias"]), Arg.In(norm["running_mean"]), Arg.In(norm["running_var"]),
            Arg.Out(folded), Arg.Out(bias));
        return (folded, bias);
    }

    /// <summary>Every pass has an NHWC form (batchnorm.apply, .stats, .bwd_stats, .bwd_apply: the channel from the index).</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>As the forward.</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>
    /// The gradient of the form the forward used: the training form (backward passes are only compiled for training
    /// steps), or the evaluation form with <see cref="UseRunningStatistics"/>. batchnorm.bwd_stats sums dy and
    /// dy (x - mean) per chunk, batchnorm.bwd_finish adds the chunks into the bias and weight gradients, and
    /// batchnorm.bwd_apply writes dx elementwise.
    /// </summary>
    internal override void Backward(BackwardPass b)
    {
        var x = b.Input.Shape;
        var e = b.Emitter;
        var dx = b.GradInput ?? e.NewValue(x, ValueKind.Transient, $"{b.Name}.grad_in_unused", b.GradOutput.ElementType, b.Input.Layout);
        uint fromStats = UseRunningStatistics ? 0u : 1u;
        var (mean, var) = UseRunningStatistics ? (b.Param("running_mean"), b.Param("running_var")) : (b.Saved("stats"), b.Saved("stats"));
        var (chunks, push) = Reduction(b.Name, x);
        var partials = e.NewValue(new Shape(x[1], chunks, 2), ValueKind.Transient, $"{b.Name}.bwd_partials");
        var dw = b.GradParam("weight");
        var db = b.GradParam("bias");
        var statsSpec = new KernelSpec(ActivationLayouts.Module("batchnorm/batchnorm.bwd_stats", b.Input.Layout), KernelSpec.Buffers(4), 16,
            new[] { (uint)Chunk }, StatsLocal);
        e.Dispatch(statsSpec, ((uint)chunks, (uint)x[1], 1), push, $"{b.Name}.bwd_stats", Arg.In(b.Input), Arg.In(b.GradOutput), Arg.In(mean), Arg.Out(partials));
        e.Dispatch(new KernelSpec("batchnorm/batchnorm.bwd_finish", KernelSpec.Buffers(4), 16, new[] { fromStats, KernelSpec.Word(Eps) },
                Emitter.ElementwiseLocal),
            e.ElementwiseGroups(x[1]), push, $"{b.Name}.bwd_stats.finish", Arg.In(partials), Arg.In(var), Arg.Out(dw), Arg.Out(db));
        var spec = new KernelSpec(ActivationLayouts.Module("batchnorm/batchnorm.bwd_apply", b.Input.Layout), KernelSpec.Buffers(8), 16,
            new[] { fromStats, KernelSpec.Word(Eps) }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.VectorGroups(x.Elements), PushConstants.Ints((int)x.Elements, x[1], x[2] * x[3], x[0] * x[2] * x[3]), $"{b.Name}.bwd",
            Arg.In(b.Input), Arg.In(b.GradOutput), Arg.In(b.Param("weight")), Arg.In(mean), Arg.In(var), Arg.In(dw), Arg.In(db), Arg.Out(dx));
    }

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
