namespace Kiln;

/// <summary>
/// Linear warm-up, then another schedule: as torch's SequentialLR([LinearLR(start_factor, end_factor, total_iters=Steps),
/// then], milestones=[Steps]). For t &lt; Steps, lr = base (StartFactor + (EndFactor - StartFactor) t / Steps); from
/// t = Steps, <see cref="Then"/> starting from its own step 0.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <summary>Warm-up length in steps.</summary>
    public required int Steps { get; init; }
    /// <summary>Factor of the base rate at step 0.</summary>
    public float StartFactor { get; init; } = 1f / 3;
    /// <summary>Factor the warm-up moves towards (reached at step Steps, where <see cref="Then"/> takes over).</summary>
    public float EndFactor { get; init; } = 1f;
    /// <summary>The schedule after the warm-up (constant by default); not another warm-up.</summary>
    public LearningRateSchedule Then { get; init; } = new ConstantSchedule();

    internal override void Validate()
    {
        Require(Steps > 0, $"LinearWarmup.Steps must be positive, got {Steps}.");
        Require(StartFactor > 0 && StartFactor <= 1, $"LinearWarmup.StartFactor must be in (0, 1], got {StartFactor}.");
        Require(EndFactor >= 0 && EndFactor <= 1, $"LinearWarmup.EndFactor must be in [0, 1], got {EndFactor}.");
        Require(Then is not null and not LinearWarmup, "LinearWarmup.Then must be a schedule other than a warm-up.");
        Then!.Validate();
    }

    private protected override (string Module, uint[] Constants) Kernel => throw new InvalidOperationException("A warm-up emits through the schedule after it.");

    internal override void Emit(Graph.Emitter emitter) => Then.Emit(emitter, (uint)Steps, StartFactor, EndFactor);

    public override string ToString() => $"LinearWarmup(steps={Steps}, start_factor={StartFactor}, end_factor={EndFactor}) then {Then}";
}
