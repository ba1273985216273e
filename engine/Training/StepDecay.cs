using Kiln.Vulkan;

namespace Kiln;

/// <summary>As torch's StepLR: lr = base * Gamma^floor(t / StepSize).</summary>
public sealed class StepDecay : LearningRateSchedule
{
    /// <summary>Steps between decays.</summary>
    public required int StepSize { get; init; }
    /// <summary>Factor applied every <see cref="StepSize"/> steps.</summary>
    public float Gamma { get; init; } = 0.1f;

    internal override void Validate()
    {
        Require(StepSize > 0, $"StepDecay.StepSize must be positive, got {StepSize}.");
        Require(Gamma >= 0 && float.IsFinite(Gamma), $"StepDecay.Gamma must be >= 0, got {Gamma}.");
    }

    private protected override (string Module, uint[] Constants) Kernel => ("lr/step_decay", new[] { (uint)StepSize, KernelSpec.Word(Gamma) });

    public override string ToString() => $"StepLR(step_size={StepSize}, gamma={Gamma})";
}
