using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// As torch's CosineAnnealingLR: lr = EtaMin + (base - EtaMin) (1 + cos(pi t / TMax)) / 2; past TMax the rate
/// rises again along the same cosine, as PyTorch's does.
/// </summary>
public sealed class CosineAnnealing : LearningRateSchedule
{
    /// <summary>Steps from the base rate down to <see cref="EtaMin"/>.</summary>
    public required int TMax { get; init; }
    /// <summary>The lowest rate.</summary>
    public float EtaMin { get; init; }

    internal override void Validate()
    {
        Require(TMax > 0, $"CosineAnnealing.TMax must be positive, got {TMax}.");
        Require(float.IsFinite(EtaMin) && EtaMin >= 0, $"CosineAnnealing.EtaMin must be >= 0, got {EtaMin}.");
    }

    private protected override (string Module, uint[] Constants) Kernel => ("lr/cosine", new[] { (uint)TMax, KernelSpec.Word(EtaMin) });

    public override string ToString() => $"CosineAnnealingLR(T_max={TMax}, eta_min={EtaMin})";
}
