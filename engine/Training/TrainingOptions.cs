namespace Kiln.Training;

/// <summary>The recipe a <see cref="Trainer"/> follows: epochs, batch, optimizer, learning rate, seed and what to measure.</summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 5;
    /// <summary>Examples per training step. A last partial batch of an epoch is dropped when training (never when evaluating).</summary>
    public int BatchSize { get; init; } = 128;
    public float LearningRate { get; init; } = 1e-3f;
    public Optimizer Optimizer { get; init; } = new Adam();
    /// <summary>Learning rate per step from <see cref="LearningRate"/> (<see cref="CompileOptions.Schedule"/>).</summary>
    public LearningRateSchedule Schedule { get; init; } = new ConstantSchedule();
    /// <summary>Global gradient-norm clipping (<see cref="CompileOptions.ClipGradientNorm"/>); null: none.</summary>
    public float? ClipGradientNorm { get; init; }
    /// <summary>L1 and L2 regularisation of weights (<see cref="CompileOptions.L1"/>, <see cref="CompileOptions.L2"/>).</summary>
    public float L1 { get; init; }
    public float L2 { get; init; }
    /// <summary>
    /// Storage and arithmetic of the training and evaluation networks (<see cref="CompileOptions.Precision"/>): under
    /// <see cref="Kiln.Precision.Fp16"/> activations and their gradients are f16 with f32 master weights and dynamic loss
    /// scaling (<see cref="LossScaling"/>).
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>Seed of parameter initialisation, shuffling and data corruption: the same seed gives the same metrics.</summary>
    public int Seed { get; init; }
    /// <summary>The quality measured on the test split besides its loss.</summary>
    public TrainingMetric Metric { get; init; } = TrainingMetric.None;
    /// <summary>Name of the network's input fed with examples' inputs.</summary>
    public string InputName { get; init; } = "x";
    /// <summary>Name of the network's input fed with examples' targets.</summary>
    public string TargetName { get; init; } = "target";
    /// <summary>Name of the network's prediction output.</summary>
    public string OutputName { get; init; } = "y";

    internal void Validate()
    {
        if (Epochs < 0) throw new ArgumentException($"TrainingOptions.Epochs must be >= 0, got {Epochs}.");
        if (BatchSize < 1) throw new ArgumentException($"TrainingOptions.BatchSize must be >= 1, got {BatchSize}.");
        if (!float.IsFinite(LearningRate) || LearningRate <= 0) throw new ArgumentException($"TrainingOptions.LearningRate must be a positive number, got {LearningRate}.");
    }
}
