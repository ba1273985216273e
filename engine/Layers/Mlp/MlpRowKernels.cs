using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The fused MLP's first kernels (shaders/mlp/mlp.fwd, mlp.bwd, mlp.reduce): one invocation per row, workgroups of
/// 32 rows, each layer's weight staged in shared memory in turn; the backward's partial weight gradients go to at
/// most 256 workgroup slots. Tuned on lavapipe, latency-friendly at small batches (the playground's 256 rows);
/// the entry every device can use.
/// </summary>
internal sealed class MlpRowKernels : IMlpKernels
{
    const uint ForwardLocal = 32; // mlp.fwd.comp's shared rows are sized for 32
    const uint BackwardLocal = 32; // mlp.bwd.comp's shared arrays are sized for 32 rows

    public string Operation => "mlp";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;

    public void Forward(FusedMlp mlp, ForwardPass f, Value? saved)
    {
        int n = f.Input.Shape[0];
        var spec = new KernelSpec("mlp/mlp.fwd", KernelSpec.Buffers(3 + 2 * FusedMlp.MaxLayers), 4, mlp.Constants(saved != null ? 1u : 0u), ForwardLocal);
        mlp.EmitForward(f, saved, spec, (uint)((n + ForwardLocal - 1) / ForwardLocal));
    }

    public void Backward(FusedMlp mlp, BackwardPass b, Value saved)
    {
        int n = b.Input.Shape[0];
        uint tiles = (uint)((n + BackwardLocal - 1) / BackwardLocal), groups = Math.Min(tiles, (uint)FusedMlp.MaxPartialSlots);
        var spec = new KernelSpec("mlp/mlp.bwd", KernelSpec.Buffers(6 + 2 * FusedMlp.MaxLayers), 8, mlp.Constants(b.GradInput != null ? 1u : 0u), BackwardLocal);
        mlp.EmitBackward(b, saved, spec, groups);
    }
}
