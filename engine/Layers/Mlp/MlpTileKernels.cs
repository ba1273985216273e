using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The fused MLP for GPUs at large batches (shaders/mlp/mlp.tile.fwd; mlp.tile.bwd, mlp.tile.dw, then mlp.reduce):
/// workgroups of 256 invocations over tiles of 64 rows, each invocation computing a 4 x 4 register block (4 rows x 4
/// units) of a layer from two 16 KiB shared matrices (the tile's activations or deltas, and the layer's input or weight;
/// 32 KiB in all). The forward and the backward's deltas take one tile per workgroup (a grid of ceil(rows / 64)); the
/// deltas pass writes every layer's, and the weight gradients are summed from them and the layers' inputs per layer
/// and chunk of tiles, one partial slot per chunk (at most <see cref="FusedMlp.MaxPartialSlots"/>) that mlp.reduce sums in
/// order. Chosen on a GPU (<see cref="PreferredOn"/>) from <see cref="MinRows"/> rows (below that the per-row kernels'
/// latency wins); on lavapipe only when named in CompileOptions.PreferKernels (tests, <c>kiln selftest</c>).
/// </summary>
internal sealed class MlpTileKernels : IMlpKernels
{
    /// <summary>Rows per tile and invocations per workgroup (MT_ROWS and MT_LOCAL in shaders/mlp/mlp_tile.glsl).</summary>
    public const int TileRows = 64;
    const uint Local = 256;
    /// <summary>Shared memory of both kernels: two 64 x 64 float matrices.</summary>
    public const uint SharedBytes = 2 * 64 * 64 * 4;
    /// <summary>The fewest rows for which a GPU takes this entry: 128 tiles.</summary>
    public const int MinRows = 8192;

    public string Operation => "mlp";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 1;

    public bool Supports(DeviceInfo device) =>
        (device.MaxSharedMemoryBytes == 0 || device.MaxSharedMemoryBytes >= SharedBytes)
        && (device.MaxWorkgroupInvocations == 0 || device.MaxWorkgroupInvocations >= Local);

    /// <summary>GPU-tuned: lavapipe runs it (tests, selftest) only when CompileOptions.PreferKernels names it.</summary>
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;

    public bool Accepts(int rows) => rows >= MinRows;

    /// <summary>Workgroups of the forward and of the deltas for <paramref name="rows"/> rows: one 64-row tile each.</summary>
    public static uint Groups(int rows) => Math.Min((uint)Math.Max(1, (rows + TileRows - 1) / TileRows), 65535u);

    public void Forward(FusedMlp mlp, ForwardPass f, Value? saved)
    {
        var spec = new KernelSpec("mlp/mlp.tile.fwd", KernelSpec.Buffers(3 + 2 * FusedMlp.MaxLayers), 4, mlp.Constants(saved != null ? 1u : 0u), Local);
        mlp.EmitForward(f, saved, spec, Groups(f.Input.Shape[0]));
    }

    public void Backward(FusedMlp mlp, BackwardPass b, Value saved)
    {
        var e = b.Emitter;
        int n = b.Input.Shape[0];
        var deltas = e.NewValue(new Shape(n, mlp.Members.Sum(m => m.Linear.OutFeatures)), ValueKind.Transient, $"{b.Name}.deltas", e.ActivationType);
        var spec = new KernelSpec("mlp/mlp.tile.bwd", KernelSpec.Buffers(6 + 2 * FusedMlp.MaxLayers), 4, mlp.Constants(b.GradInput != null ? 1u : 0u), Local);
        var args = new List<Arg>
        {
            Arg.In(b.Input), Arg.In(b.Output), Arg.In(saved), Arg.In(b.GradOutput),
            b.GradInput != null ? Arg.Out(b.GradInput) : Arg.In(b.GradOutput), Arg.Out(deltas),
        };
        args.AddRange(mlp.ParamSlots(b.Param));
        e.Dispatch(spec, (Groups(n), 1, 1), PushConstants.Ints(n), $"{b.Name}.bwd", args.ToArray());
        e.AttributeFlops(e.StepCount - 1, $"{b.Name}.bwd", mlp.DeltaFlops(b));

        var (chunks, per) = FusedMlp.Chunks((n + TileRows - 1) / TileRows);
        var dw = new KernelSpec("mlp/mlp.tile.dw", KernelSpec.Buffers(4), 12, mlp.Constants(0), Local);
        mlp.EmitWeightGradients(b, dw, n, per * TileRows, chunks, 0, Arg.In(b.Input), Arg.In(saved), Arg.In(deltas));
    }
}
