namespace Kiln.Training;

/// <summary>What a <see cref="Trainer"/> measures on the test split besides the loss.</summary>
public enum TrainingMetric
{
    None,
    /// <summary>
    /// Share of examples whose predicted class equals <see cref="Data.IDataset.Label"/>: the arg-max of the output,
    /// or for a single output (a logit) class 1 when it is above 0.
    /// </summary>
    Accuracy,
    /// <summary>PSNR in dB of the output against the target for values in [0, 1]: 10 log10(1 / MSE over the whole split).</summary>
    Psnr,
}
