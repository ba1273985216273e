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

    internal override void Forward(ForwardPass f)
    {
        var x = f.Input.Shape;
        bool batchStatistics = f.Training && !UseRunningStatistics;
        if (batchStatistics && x[0] * x[2] * x[3] < 2)
            throw new GraphException($"{f.Name}: batchnorm2d needs more than one value per channel to train, got {x}.");
        var spec = new KernelSpec(ActivationLayouts.Module("batchnorm/batchnorm.fwd", f.Input.Layout), KernelSpec.Buffers(6), 12,
            new[] { batchStatistics ? 1u : 0u, KernelSpec.Word(Eps), KernelSpec.Word(Momentum) }, NormKernels.ReduceLocal);
        Arg Stat(string name) => batchStatistics ? Arg.InOut(f.Param(name)) : Arg.In(f.Param(name));
        f.Emitter.Dispatch(spec, NormKernels.PerItemGroups(x[1]), PushConstants.Ints(x[0], x[1], x[2] * x[3]), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.In(f.Param("weight")), Arg.In(f.Param("bias")), Stat("running_mean"), Stat("running_var"), Arg.Out(f.Output));
    }

    /// <summary>Inference plans only take NHWC, where the running statistics normalise: an affine map per channel.</summary>
    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>
    /// The gradient of the form the forward used: the training form (backward passes are only compiled for training
    /// steps), or the evaluation form with <see cref="UseRunningStatistics"/>.
    /// </summary>
    internal override void Backward(BackwardPass b)
    {
        var x = b.Input.Shape;
        var dx = b.GradInput ?? b.Emitter.NewValue(x, ValueKind.Transient, $"{b.Name}.grad_in_unused", b.GradOutput.ElementType);
        if (UseRunningStatistics)
        {
            var eval = new KernelSpec("batchnorm/batchnorm.bwd_eval", KernelSpec.Buffers(8), 12, new[] { KernelSpec.Word(Eps) }, NormKernels.ReduceLocal);
            b.Emitter.Dispatch(eval, NormKernels.PerItemGroups(x[1]), PushConstants.Ints(x[0], x[1], x[2] * x[3]), $"{b.Name}.bwd",
                Arg.In(b.Input), Arg.In(b.Param("weight")), Arg.In(b.Param("running_mean")), Arg.In(b.Param("running_var")),
                Arg.In(b.GradOutput), Arg.Out(dx), Arg.Out(b.GradParam("weight")), Arg.Out(b.GradParam("bias")));
            return;
        }
        var spec = new KernelSpec("batchnorm/batchnorm.bwd", KernelSpec.Buffers(6), 12, new[] { KernelSpec.Word(Eps) }, NormKernels.ReduceLocal);
        b.Emitter.Dispatch(spec, NormKernels.PerItemGroups(x[1]), PushConstants.Ints(x[0], x[1], x[2] * x[3]), $"{b.Name}.bwd",
            Arg.In(b.Input), Arg.In(b.Param("weight")), Arg.In(b.GradOutput), Arg.Out(dx),
            Arg.Out(b.GradParam("weight")), Arg.Out(b.GradParam("bias")));
    }

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
