using Kiln.Training;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Stochastic gradient descent, as torch.optim.SGD: d = g + WeightDecay w; with momentum, buf = d on the first
/// step and Momentum buf + (1 - Dampening) d after, then d = Nesterov ? d + Momentum buf : buf; w -= lr d.
/// With momentum it keeps "&lt;param&gt;.momentum_buffer".
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Momentum factor (0: plain SGD, no state).</summary>
    public float Momentum { get; init; }
    /// <summary>Dampening of the momentum's new term.</summary>
    public float Dampening { get; init; }
    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Nesterov momentum (needs Momentum &gt; 0 and Dampening 0, as in PyTorch).</summary>
    public bool Nesterov { get; init; }

    internal override void Validate()
    {
        Require(Momentum >= 0 && float.IsFinite(Momentum), $"Sgd.Momentum must be >= 0, got {Momentum}.");
        Require(float.IsFinite(Dampening), $"Sgd.Dampening must be finite, got {Dampening}.");
        Require(WeightDecay >= 0 && float.IsFinite(WeightDecay), $"Sgd.WeightDecay must be >= 0, got {WeightDecay}.");
        Require(!Nesterov || (Momentum > 0 && Dampening == 0), "Sgd.Nesterov needs Momentum > 0 and Dampening 0.");
    }

    internal override void EmitUpdate(ParameterUpdate u)
    {
        if (Momentum == 0)
        {
            u.Dispatch("optim/sgd", new[] { KernelSpec.Word(WeightDecay) });
            return;
        }
        var buffer = u.State("momentum_buffer");
        u.Dispatch("optim/sgd_momentum",
            new[] { KernelSpec.Word(Momentum), KernelSpec.Word(Dampening), KernelSpec.Word(WeightDecay), Nesterov ? 1u : 0u }, buffer);
    }

    public override string ToString() =>
        $"SGD(momentum={Momentum}, dampening={Dampening}, weight_decay={WeightDecay}, nesterov={Nesterov})";
}
