using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The fused MLP on tensor cores: KHR cooperative matrices with f16 operands and f32 accumulation, so chosen only under
/// <see cref="Precision.Fp16"/>, on devices with square f16*f16+f32 subgroup matrices of side S
/// (<see cref="CooperativeMatrixKernels.Usable"/>; 16 on NVIDIA, 8 on lavapipe of Mesa 26). Every width is padded to a
/// multiple of S (shaders/include/mlp_coopmat.glsl has the buffers' layouts):
/// <list type="bullet">
/// <item>mlp.pack_f16 rounds the weights to f16 and lays the biases out as accumulator tiles, once a step;</item>
/// <item>mlp.coopmat.fwd takes blocks of <see cref="Rows"/> rows, their activations in shared memory as f16 from layer
/// to layer; each of a workgroup's <see cref="Subgroups"/> subgroups holds its column tiles' weights in registers and
/// multiplies every row tile by them. Training, it saves every layer's input (x too, padded) for the backward;</item>
/// <item>mlp.coopmat.bwd carries each block's deltas back the same way and writes every layer's, f16;</item>
/// <item>mlp.coopmat.dw sums each layer's weight and bias gradient over a chunk of the rows per workgroup, straight
/// from the saved inputs and deltas, into the workgroup's partial slot, and mlp.reduce sums the slots in order (no
/// atomics: deterministic).</item>
/// </list>
/// Chosen on a GPU at Fp16 from <see cref="MlpTileKernels.MinRows"/> rows; on lavapipe (which emulates the matrices)
/// only when named in CompileOptions.PreferKernels (tests).
/// </summary>
internal sealed class MlpCoopMatKernels : CooperativeMatrixEntry, IMlpKernels
{
    /// <summary>Subgroups per workgroup (NSG in shaders/include/mlp_coopmat.glsl).</summary>
    public const int Subgroups = 4;
    /// <summary>S-row tiles of a block (RT).</summary>
    const int RowTiles = 8;
    /// <summary>Column tiles of one subgroup in a layer at most (CT_MAX): the widest layer in tiles over the subgroups.</summary>
    const int ColumnTiles = 2;
    /// <summary>f16 elements per shared row (LD): the widest padded layer and 8 more.</summary>
    const int SharedRow = FusedMlp.MaxWidth + 8;

    public string Operation => "mlp";
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 2;

    /// <summary>Rows per block with S x S matrices.</summary>
    public static int Rows(int s) => RowTiles * s;

    /// <summary>Shared memory of the forward and the deltas' pass: one block of f16 rows (S = 16: 18 KiB).</summary>
    public static long SharedBytes(int s) => (long)Rows(s) * SharedRow * 2;

    /// <summary>The cooperative-matrix check and room for the workgroup, its shared memory and the widest layer's tiles.</summary>
    public bool Supports(DeviceInfo device)
    {
        if (!CooperativeMatrixKernels.Usable(device)) return false;
        int s = device.CooperativeMatrixF16Size;
        return Subgroups * device.SubgroupSize <= device.MaxWorkgroupInvocations && SharedBytes(s) <= device.MaxSharedMemoryBytes
            && Subgroups * ColumnTiles * s >= FusedMlp.MaxWidth;
    }

    public bool Accepts(int rows) => rows >= MlpTileKernels.MinRows;

    /// <summary>Every layer's input, f16, with the rows rounded up to a block: what the backward reads.</summary>
    public Value NewSaved(FusedMlp mlp, ForwardPass f)
    {
        var shape = Padded(mlp, f.Emitter.Device.CooperativeMatrixF16Size, f.Input.Shape[0]);
        return f.Emitter.NewValue(new Shape(shape.Rows, shape.Inputs), ValueKind.Transient, $"{f.Name}.inputs", ElementType.F16);
    }

    public void Forward(FusedMlp mlp, ForwardPass f, Value? saved)
    {
        var e = f.Emitter;
        int s = e.Device.CooperativeMatrixF16Size, n = f.Input.Shape[0];
        var shape = Padded(mlp, s, n);
        var weights = e.NewValue(new Shape(shape.Weights), ValueKind.Transient, $"{f.Name}.weight_f16", ElementType.F16);
        var biases = e.NewValue(new Shape(shape.Biases), ValueKind.Transient, $"{f.Name}.bias_tiles");
        var pack = new KernelSpec("mlp/mlp.pack_f16", KernelSpec.Buffers(2 + 2 * FusedMlp.MaxLayers), 8, mlp.Constants(0, s), Emitter.ElementwiseLocal);
        var packArgs = new List<Arg> { Arg.Out(weights), Arg.Out(biases) };
        packArgs.AddRange(mlp.ParamSlots(f.Param));
        e.Dispatch(pack, e.ElementwiseGroups(Math.Max(shape.Weights, shape.Biases)), PushConstants.Ints(shape.Weights, shape.Biases),
            $"{f.Name}.pack", packArgs.ToArray());
        mlp.EntryValues = new[] { weights };

        var spec = Spec(mlp, e, "mlp/mlp.coopmat.fwd", 5, 4, saved != null ? 1u : 0u);
        var groups = (uint)Math.Min(shape.Rows / Rows(s), 65535);
        e.Dispatch(spec, (groups, 1, 1), PushConstants.Ints(n), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.Out(f.Output), saved != null ? Arg.Out(saved) : Arg.In(weights), Arg.In(weights), Arg.In(biases));
        e.AttributeFlops(e.StepCount - 1, $"{f.Name}.fwd", 2 * mlp.MultiplyAdds(n));
    }

    public void Backward(FusedMlp mlp, BackwardPass b, Value saved)
    {
        var e = b.Emitter;
        int s = e.Device.CooperativeMatrixF16Size, n = b.Input.Shape[0];
        var shape = Padded(mlp, s, n);
        var weights = mlp.EntryValues.Single();
        var deltas = e.NewValue(new Shape(shape.Rows, shape.Deltas), ValueKind.Transient, $"{b.Name}.deltas", ElementType.F16);
        var spec = Spec(mlp, e, "mlp/mlp.coopmat.bwd", 6, 4, b.GradInput != null ? 1u : 0u);
        var groups = (uint)Math.Min(shape.Rows / Rows(s), 65535);
        e.Dispatch(spec, (groups, 1, 1), PushConstants.Ints(n), $"{b.Name}.bwd",
            Arg.In(b.Output), Arg.In(b.GradOutput), b.GradInput != null ? Arg.Out(b.GradInput) : Arg.In(b.GradOutput),
            Arg.In(saved), Arg.Out(deltas), Arg.In(weights));
        e.AttributeFlops(e.StepCount - 1, $"{b.Name}.bwd", mlp.DeltaFlops(b));

        // The weight gradients over chunks of whole S-row tiles.
        var (chunks, per) = FusedMlp.Chunks(shape.Rows / s);
        mlp.EmitWeightGradients(b, Spec(mlp, e, "mlp/mlp.coopmat.dw", 3, 12, 0), shape.Rows, per * s, chunks, s, Arg.In(saved), Arg.In(deltas));
    }

    /// <summary>The padded forms' sizes (shaders/include/mlp_coopmat.glsl): rows rounded up to a block, a row's
    /// saved inputs (HP) and deltas (DP), and the packed weights' and bias tiles' elements.</summary>
    static (int Rows, int Inputs, int Deltas, int Weights, int Biases) Padded(FusedMlp mlp, int s, int n)
    {
        int P(int w) => (w + s - 1) / s * s;
        var layers = mlp.Members.Select(m => (In: P(m.Linear.InFeatures), Out: P(m.Linear.OutFeatures))).ToList();
        int rows = Math.Max(1, (n + Rows(s) - 1) / Rows(s)) * Rows(s);
        return (rows, layers.Sum(l => l.In), layers.Sum(l => l.Out), layers.Sum(l => l.In * l.Out), layers.Sum(l => s * l.Out));
    }

    // include/mlp.glsl's constants with PAD = S, the shader's constant 19, then 21 SGS and 22 NSG.
    static KernelSpec Spec(FusedMlp mlp, Emitter e, string module, int buffers, uint pushBytes, uint last)
    {
        int s = e.Device.CooperativeMatrixF16Size;
        uint sgs = e.Device.SubgroupSize;
        var constants = mlp.Constants(last, s).Concat(new[] { sgs, (uint)Subgroups }).ToArray();
        return new KernelSpec(module, KernelSpec.Buffers(buffers), pushBytes, constants, sgs * Subgroups);
    }
}
