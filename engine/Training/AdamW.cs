namespace Kiln;

/// <summary>
/// AdamW, as torch.optim.AdamW: Adam with decoupled weight decay (w *= 1 - lr WeightDecay before the Adam step,
/// nothing added to the gradient). PyTorch's default decay, 0.01.
/// </summary>
public sealed class AdamW : Adam
{
    public AdamW() => WeightDecay = 0.01f;

    private protected override bool Decoupled => true;
}
