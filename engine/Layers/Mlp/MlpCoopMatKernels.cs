using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The fused MLP on tensor cores (shaders/mlp/mlp.coopmat.fwd, mlp.coopmat.bwd, then mlp.reduce): KHR cooperative
/// matrices with f16 operands and f32 accumulation, so chosen only under <see cref="Precision.Fp16"/>, on devices with
/// square f16*f16+f32 subgroup matrices (<see cref="CooperativeMatrixKernels.Usable"/>; S = 16 on NVIDIA, 8 on
/// lavapipe of Mesa 26). Every width is padded to a multiple of S. A workgroup of <see cref="Subgroups"/> subgroups
/// takes blocks of <see cref="Rows"/> rows (2 S per subgroup), keeping the block's activations (forward) or deltas and
/// layer inputs (backward) in shared memory as f16, each layer's weight staged there in turn. The backward's weight and
/// bias gradients (the latter as a matrix of ones times the deltas) accumulate in each workgroup's partial slot (at
/// most <see cref="MlpTileKernels.MaxPartialGroups"/> workgroups), read and written back per block by the subgroup that
/// owns the tiles (no atomics, deterministic), which mlp.reduce sums in order. Chosen on a GPU at Fp16 from
/// <see cref="MlpTileKernels.MinRows"/> rows; on lavapipe (which emulates the matrices) only when named in
/// CompileOptions.PreferKernels (tests).
/// </summary>
internal sealed class MlpCoopMatKernels : CooperativeMatrixEntry, IMlpKernels
{
    /// <summary>Subgroups per workgroup (NSG in shaders/include/mlp_coopmat.glsl).</summary>
    public const int Subgroups = 4;
    /// <summary>f16 elements per shared row (LD): the widest padded layer and 8 more.</summary>
    const int SharedRow = FusedMlp.MaxWidth + 8;

    public string Operation => "mlp";
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 2;

    /// <summary>Rows per block with S x S matrices: two S-row tiles per subgroup.</summary>
    public static int Rows(int s) => Subgroups * 2 * s;

    /// <summary>The larger of the two kernels' shared memory: the backward's deltas, inputs and weight (S = 16: 45 KiB).</summary>
    public static long SharedBytes(int s) =>
        Math.Max((2L * Rows(s) + FusedMlp.MaxWidth) * SharedRow * 2, (Rows(s) + (long)FusedMlp.MaxWidth) * SharedRow * 2 + s * FusedMlp.MaxWidth * 4L);

    /// <summary>The cooperative-matrix check and room for the workgroup and its shared memory.</summary>
    public bool Supports(DeviceInfo device)
    {
        if (!CooperativeMatrixKernels.Usable(device)) return false;
        return Subgroups * device.SubgroupSize <= device.MaxWorkgroupInvocations && SharedBytes(device.CooperativeMatrixF16Size) <= device.MaxSharedMemoryBytes;
    }

    public bool Accepts(int rows) => rows >= MlpTileKernels.MinRows;

    public void Forward(FusedMlp mlp, ForwardPass f, Value? saved)
    {
        var (s, spec) = Spec(mlp, f.Emitter, "mlp/mlp.coopmat.fwd", 3, 4, saved != null ? 1u : 0u);
        uint blocks = (uint)Math.Max(1, (f.Input.Shape[0] + Rows(s) - 1) / Rows(s));
        mlp.EmitForward(f, saved, spec, Math.Min(blocks, 65535u));
    }

    public void Backward(FusedMlp mlp, BackwardPass b, Value saved)
    {
        var (s, spec) = Spec(mlp, b.Emitter, "mlp/mlp.coopmat.bwd", 6, 8, b.GradInput != null ? 1u : 0u);
        uint blocks = (uint)Math.Max(1, (b.Input.Shape[0] + Rows(s) - 1) / Rows(s));
        // Each subgroup's scratch tiles follow the parameters in the slot: S rows of the widest layer and a bias tile.
        mlp.EmitBackward(b, saved, spec, Math.Min(blocks, MlpTileKernels.MaxPartialGroups), s, Subgroups * s * (FusedMlp.MaxWidth + s));
    }

    // include/mlp.glsl's constants with PAD = S, the shader's constant 19, then 21 SGS and 22 NSG.
    static (int S, KernelSpec Spec) Spec(FusedMlp mlp, Emitter e, string module, int buffers, uint pushBytes, uint last)
    {
        int s = e.Device.CooperativeMatrixF16Size;
        uint sgs = e.Device.SubgroupSize;
        var constants = mlp.Constants(last, s).Concat(new[] { sgs, (uint)Subgroups }).ToArray();
        return (s, new KernelSpec(module, KernelSpec.Buffers(buffers + 2 * FusedMlp.MaxLayers), pushBytes, constants, sgs * Subgroups));
    }
}
