namespace Kiln.Training;

/// <summary>Where a training run is, reported after every step for a progress display.</summary>
/// <param name="Epoch">1-based epoch being trained.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Step">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="Loss">Mean loss of this epoch's steps so far.</param>
/// <param name="StepLoss">Loss of the step just taken.</param>
/// <param name="SamplesPerSecond">Training examples per second in this epoch so far.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double StepLoss, double SamplesPerSecond);
