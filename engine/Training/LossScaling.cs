namespace Kiln;

/// <summary>
/// Dynamic loss scaling for training with f16 activation gradients (<see cref="CompileOptions.LossScaling"/>), as
/// torch.cuda.amp.GradScaler: the backward pass starts from the loss scale instead of 1, so small gradients stay above
/// f16's smallest normal number; the update divides the (f32) parameter gradients by it again. A step whose gradients
/// hold an infinity or a NaN updates nothing, halves the scale and does not advance the step counter; after
/// <see cref="GrowthInterval"/> finite steps in a row the scale doubles. All of it happens on the GPU in the step-state
/// buffer (<see cref="StepState.LossScale"/>), so a recorded step replays unchanged.
/// </summary>
public sealed record LossScaling
{
    /// <summary>The scale of the first step (PyTorch's default, 2^16).</summary>
    public float Initial { get; init; } = 65536f;
    /// <summary>Finite steps in a row after which the scale doubles; 0 keeps it fixed (overflowing steps still halve it and are skipped).</summary>
    public int GrowthInterval { get; init; } = 2000;

    /// <summary>No scaling: the backward pass starts from 1 and no step is skipped.</summary>
    public static LossScaling Off { get; } = new() { Initial = 1f, GrowthInterval = -1 };

    /// <summary>Whether this is <see cref="Off"/>.</summary>
    public bool IsOff => GrowthInterval < 0;

    internal void Validate()
    {
        if (IsOff) return;
        if (!(Initial >= 1f && float.IsFinite(Initial)))
            throw new ArgumentException($"LossScaling.Initial must be finite and at least 1, got {Initial}.");
    }
}
