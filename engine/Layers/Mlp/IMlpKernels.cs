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

    /// <summary>y = the chain applied to x; with <paramref name="saved"/> its hidden outputs are written there.</summary>
    void Forward(FusedMlp mlp, ForwardPass f, Value? saved);

    /// <summary>The input gradient (when asked for) and every member's weight and bias gradient.</summary>
    void Backward(FusedMlp mlp, BackwardPass b, Value saved);
}
