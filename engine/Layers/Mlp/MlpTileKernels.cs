using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The fused MLP for GPUs at large batches (shaders/mlp/mlp.tile.fwd, mlp.tile.bwd, then mlp.reduce): workgroups of
/// 256 invocations over tiles of 64 rows, each invocation computing a 4 x 4 register block (4 rows x 4 units) of a
/// layer from two 16 KiB shared matrices (the tile's activations or deltas, and the layer's input or weight;
/// 32 KiB in all). The forward takes one tile per workgroup (a grid of ceil(rows / 64)); the backward's
/// workgroups each take every groups-th tile and keep every layer's weight-gradient block in registers across
/// them, writing one partial per workgroup (at most <see cref="MaxPartialGroups"/>) that mlp.reduce sums in order.
/// Chosen on a GPU (<see cref="PreferredOn"/>) from <see cref="MinRows"/> rows (below that the per-row kernels'
/// latency wins); on lavapipe only when named in CompileOptions.PreferKernels (tests, <c>kiln selftest</c>).
/// </summary>
internal sealed class MlpTileKernels : IMlpKernels
{
    /// <summary>Rows per tile and invocations per workgroup (MT_ROWS and MT_LOCAL in shaders/mlp/mlp_tile.glsl).</summary>
    public const int TileRows = 64;
    const uint Local = 256;
    /// <summary>Shared memory of both kernels: two 64 x 64 float matrices.</summary>
    public const uint SharedBytes = 2 * 64 * 64 * 4;
    /// <summary>The backward's workgroups (partial-gradient slots) at most: 4096 tiles of a 262144-row batch make 16 tiles each.</summary>
    public const uint MaxPartialGroups = 256;
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

    /// <summary>Workgroups of the forward and of the backward for <paramref name="rows"/> rows.</summary>
    public static (uint Forward, uint Backward) Groups(int rows)
    {
        uint tiles = (uint)Math.Max(1, (rows + TileRows - 1) / TileRows);
        return (Math.Min(tiles, 65535u), Math.Min(tiles, MaxPartialGroups));
    }

    public void Forward(FusedMlp mlp, ForwardPass f, Value? saved)
    {
        var spec = new KernelSpec("mlp/mlp.tile.fwd", KernelSpec.Buffers(3 + 2 * FusedMlp.MaxLayers), 4, mlp.Constants(saved != null ? 1u : 0u), Local);
        mlp.EmitForward(f, saved, spec, Groups(f.Input.Shape[0]).Forward);
    }

    public void Backward(FusedMlp mlp, BackwardPass b, Value saved)
    {
        var spec = new KernelSpec("mlp/mlp.tile.bwd", KernelSpec.Buffers(6 + 2 * FusedMlp.MaxLayers), 8, mlp.Constants(b.GradInput != null ? 1u : 0u), Local);
        mlp.EmitBackward(b, saved, spec, Groups(b.Input.Shape[0]).Backward);
    }
}
