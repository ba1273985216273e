using Kiln.Training;
using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Adam, as torch.optim.Adam: weight decay is an L2 term added to the gradient; bias correction from the step
/// counter; optional AMSGrad. Keeps "&lt;param&gt;.exp_avg", "&lt;param&gt;.exp_avg_sq" (and
/// "&lt;param&gt;.max_exp_avg_sq" with AMSGrad), PyTorch's names.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Decay of the first moment (mean of the gradient).</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Decay of the second moment (mean of the squared gradient).</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>Added to the denominator's square root.</summary>
    public float Epsilon { get; init; } = 1e-8f;
    /// <summary>Adam: L2 penalty added to the gradient. <see cref="AdamW"/>: decoupled decay of the weights.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Use the running maximum of the second moment (AMSGrad).</summary>
    public bool Amsgrad { get; init; }

    // Adam and AdamW differ only here, so AdamW derives from Adam.
    private protected virtual bool Decoupled => false;

    internal override void Validate()
    {
        string name = GetType().Name;
        Require(Beta1 is >= 0 and < 1, $"{name}.Beta1 must be in [0, 1), got {Beta1}.");
        Require(Beta2 is >= 0 and < 1, $"{name}.Beta2 must be in [0, 1), got {Beta2}.");
        Require(Epsilon >= 0 && float.IsFinite(Epsilon), $"{name}.Epsilon must be >= 0, got {Epsilon}.");
        Require(WeightDecay >= 0 && float.IsFinite(WeightDecay), $"{name}.WeightDecay must be >= 0, got {WeightDecay}.");
    }

    internal override void EmitUpdate(ParameterUpdate u)
    {
        var state = new List<Value> { u.State("exp_avg"), u.State("exp_avg_sq") };
        if (Amsgrad) state.Add(u.State("max_exp_avg_sq"));
        var constants = new[]
        {
            KernelSpec.Word(Beta1), KernelSpec.Word(Beta2), KernelSpec.Word(Epsilon), KernelSpec.Word(WeightDecay), Decoupled ? 1u : 0u,
            KernelSpec.Word((float)(1 - Decimal(Beta1))), KernelSpec.Word((float)(1 - Decimal(Beta2))),
            KernelSpec.Word((float)Math.Log(Decimal(Beta1))), KernelSpec.Word((float)Math.Log(Decimal(Beta2))),
        };
        u.Dispatch(Amsgrad ? "optim/adam_amsgrad" : "optim/adam", constants, state.ToArray());
    }

    // The decimal a float was written as (0.999f -> 0.999), as PyTorch's Python floats hold it.
    static double Decimal(float f) => double.Parse(f.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() =>
        $"{GetType().Name}(betas=({Beta1}, {Beta2}), eps={Epsilon}, weight_decay={WeightDecay}, amsgrad={Amsgrad})";
}
