namespace Kiln.Training;

/// <summary>A pass over the test split (<see cref="Trainer.Evaluate"/>).</summary>
public sealed record Evaluation
{
    /// <summary>The loss over every test example (batch losses weighted by their example counts).</summary>
    public double Loss { get; init; }
    /// <summary>With <see cref="TrainingMetric.Accuracy"/>: share of examples classified right.</summary>
    public double? Accuracy { get; init; }
    /// <summary>With <see cref="TrainingMetric.Psnr"/>: 10 log10(1 / MSE) of outputs against targets over the split.</summary>
    public double? PsnrDb { get; init; }
    /// <summary>With <see cref="TrainingMetric.Psnr"/> and image inputs: the PSNR of the corrupted inputs against the targets, the baseline.</summary>
    public double? InputPsnrDb { get; init; }
    /// <summary>With a dataset's mask channel (inpainting): the outputs' PSNR over the missing pixels alone.</summary>
    public double? MaskedPsnrDb { get; init; }
    /// <summary>With a dataset's mask channel: the inputs' PSNR over the missing pixels (holes hold zeros).</summary>
    public double? MaskedInputPsnrDb { get; init; }
    /// <summary>Mean squared error of outputs against targets over the split.</summary>
    public double Mse { get; init; }
    /// <summary>The first kept examples' inputs, outputs and targets, example after example.</summary>
    public float[] Inputs { get; init; } = Array.Empty<float>();
    public float[] Outputs { get; init; } = Array.Empty<float>();
    public float[] Targets { get; init; } = Array.Empty<float>();
    /// <summary>The extra output asked for, of every example; empty when none was asked for.</summary>
    public float[] Extra { get; init; } = Array.Empty<float>();
    /// <summary>Every example's label (-1 where unlabelled).</summary>
    public int[] Labels { get; init; } = Array.Empty<int>();
}
