namespace Kiln;

/// <summary>The base learning rate at every step (the default).</summary>
public sealed class ConstantSchedule : LearningRateSchedule
{
    internal override void Validate() { }

    private protected override (string Module, uint[] Constants) Kernel => ("lr/constant", Array.Empty<uint>());

    public override string ToString() => "constant";
}
