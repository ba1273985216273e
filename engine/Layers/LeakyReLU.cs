using Kiln.Layers;

namespace Kiln;

/// <summary>y = x for x >= 0, negativeSlope * x otherwise (PyTorch's default slope 0.01). The slope must be positive (the gradient is taken from the output's sign).</summary>
public sealed class LeakyReLU : ActivationLayer
{
    public LeakyReLU(float negativeSlope = 0.01f) : base(Activation.LeakyReLU, negativeSlope)
    {
        if (!(negativeSlope > 0)) throw new ArgumentException($"leaky_relu: the negative slope must be positive, got {negativeSlope}.");
    }

    public override string Kind => "leaky_relu";
}
