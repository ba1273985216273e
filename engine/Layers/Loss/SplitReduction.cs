using System.Numerics;
using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// Full reductions: up to <see cref="MaxGroups"/> workgroups of 256, each reducing a contiguous chunk with coalesced
/// vec4 loads, then one workgroup adding their partials in a fixed order (shaders/reduce/finish.comp): bandwidth-bound
/// on a GPU, where one workgroup would use one of its cores. 1024 workgroups of 256 is about one full wave on an H100
/// (132 SMs x 2048 invocations); rows of 64 or more classes are shared by several lanes. The partials of
/// <see cref="PartialSums"/>: up to 32 lanes per output. Runs on every device; the registry picks it by itself on GPUs
/// only (on a CPU device <see cref="SingleGroupReduction"/> measured faster; tests force this one on lavapipe with
/// CompileOptions.PreferKernels).
/// </summary>
internal sealed class SplitReduction : IReductionSplit
{
    public const int MaxGroups = 1024;
    public string Operation => "reduce.sum";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.RowMajor;
    public int Priority => 10;
    public bool Supports(DeviceInfo device) => true;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public int Groups(long iterations) => (int)Math.Min(iterations, MaxGroups);

    /// <summary>From 64 classes on, at least 4 classes per lane, up to 256 lanes (a whole workgroup per row).</summary>
    public int RowLanes(int classes) => classes < 64 ? 1 : (int)Math.Min(256, BitOperations.RoundUpToPowerOf2((uint)classes / 4 + 1) / 2);

    /// <summary>At least 16 splits per lane, up to 32 lanes (from 64 splits on; fewer stay one invocation per output).</summary>
    public int PartialLanes(int splits) => splits < 64 ? 1 : (int)Math.Min(32, BitOperations.RoundUpToPowerOf2((uint)splits / 16 + 1) / 2);
}
