namespace Kiln;

/// <summary>The parameter update a training step ends with.</summary>
public enum Optimizer
{
    /// <summary>w -= lr * g.</summary>
    Sgd,
    /// <summary>Adam (PyTorch's torch.optim.Adam without weight decay), its moments kept on the GPU.</summary>
    Adam,
}
