namespace Kiln.Training;

/// <summary>What one epoch measured (written to metrics.json by <c>kiln train</c>).</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean of the training steps' losses over the epoch.</param>
/// <param name="TestLoss">Loss over the whole test split (every example, partial last batch included).</param>
/// <param name="TestAccuracy">With <see cref="TrainingMetric.Accuracy"/>: share of test examples classified right.</param>
/// <param name="TestPsnrDb">With <see cref="TrainingMetric.Psnr"/>: PSNR of outputs against targets over the test split.</param>
/// <param name="Seconds">Wall time of the epoch's training steps (evaluation not included).</param>
/// <param name="TestInputPsnrDb">With image inputs: PSNR of the corrupted inputs against the targets (the baseline).</param>
/// <param name="TestMaskedPsnrDb">With a mask channel (inpainting): the outputs' PSNR over the missing pixels.</param>
/// <param name="TestMaskedInputPsnrDb">With a mask channel: the inputs' PSNR over the missing pixels.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TestLoss, double? TestAccuracy, double? TestPsnrDb, double Seconds,
    double? TestInputPsnrDb = null, double? TestMaskedPsnrDb = null, double? TestMaskedInputPsnrDb = null);
