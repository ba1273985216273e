namespace Kiln.Training;

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException : KilnException
{
    public TrainingDivergedException(string message) : base(message) { }
}
