using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A registered implementation of the fused MLP's passes, operation "mlp": the forward (saving the hidden
/// layers' outputs, [rows, sum of hidden widths], when training) and the backward (input gradient and the
/// parameters' gradients through per-workgroup partials summed in order by shaders/mlp/mlp.reduce.comp).
/// <see cref="FusedMlp"/> chooses one per compile and uses it for both passes.
/// </summary>
internal interface IMlpKernels : IKernelEntry
{
    /// <summary>Whether the entry is worth choosing for a batch of <paramref name="rows"/> rows (a preference, not a
    /// limit: an entry named in CompileOptions.PreferKernels is taken at any batch, wherever it supports the device).</summary>
    bool Accepts(int rows) => true;

    /// <summary>The value the forward saves for the backward when training: by default the hidden layers' outputs,
    /// [rows, sum of hidden widths], stored as the network's activations are.</summary>
    Value NewSaved(FusedMlp mlp, ForwardPass f) =>
        f.Emitter.NewValue(new Shape(f.Input.Shape[0], mlp.HiddenWidth), ValueKind.Transient, $"{f.Name}.hidden", f.Emitter.ActivationType);

    /// <summary>y = the chain applied to x; with <paramref name="saved"/> (<see cref="NewSaved"/>) what the backward needs
    /// is written there.</summary>
    void Forward(FusedMlp mlp, ForwardPass f, Value? saved);

    /// <summary>The input gradient (when asked for) and every member's weight and bias gradient.</summary>
    void Backward(FusedMlp mlp, BackwardPass b, Value saved);
}
