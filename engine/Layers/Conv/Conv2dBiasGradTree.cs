using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The bias gradient as a parallel reduction (shaders/conv2d/conv2d.bwd_bias_tree.comp), for GPUs: each channel's
/// N*H*W values are cut into chunks, one workgroup of 256 invocations per chunk and channel reads its chunk coalesced
/// and adds it with a shared-memory tree; reduce/partials adds the chunks in order (deterministic, no atomics).
/// </summary>
internal class Conv2dBiasGradTree : IConv2dBiasGrad
{
    const uint Local = 256; // REDUCE_SIZE in the shader
    /// <summary>Values per invocation a chunk holds at least (a chunk is a multiple of 256 * this).</summary>
    internal const int MinPerInvocation = 8;
    /// <summary>Workgroups worth splitting the channels' values for (about 8 per SM of a 132-SM GPU).</summary>
    internal const long TargetWorkgroups = 1024;

    public string Operation => "conv2d.bwd_bias";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    public bool Supports(DeviceInfo device) => true;
    /// <summary>On a CPU device (lavapipe) the serial kernel is faster; there this one runs only when preferred by name.</summary>
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;

    /// <summary>Chunks per channel and values per chunk for c channels of <paramref name="perChannel"/> values each.</summary>
    internal static (int Splits, int Chunk) Plan(int c, long perChannel)
    {
        if (c > 65535) throw new InvalidOperationException($"conv2d.bwd_bias: {c} channels exceed the 65535 workgroups of a dispatch's y.");
        if (perChannel > int.MaxValue) throw new InvalidOperationException($"conv2d.bwd_bias: {perChannel} values per channel overflow the kernel's 32-bit indices.");
        const int unit = (int)Local * MinPerInvocation;
        int units = (int)((perChannel + unit - 1) / unit);
        var (splits, unitsPerSplit) = PartialSums.Plan(c, units, TargetWorkgroups, Math.Max(1, (units + 65534) / 65535));
        return (splits, unitsPerSplit * unit);
    }

    public void Emit(Emitter e, Value dy, Value db, string label)
    {
        var (n, c, h, w) = dy.Shape.Nchw;
        var (splits, chunk) = Plan(c, (long)n * h * w);
        var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.bwd_bias_tree", dy.Layout), KernelSpec.Buffers(2), 12,
            new[] { (uint)c, (uint)(h * w), splits > 1 ? (uint)chunk : 0u }, Local);
        var push = PushConstants.Ints(n, c, h * w);
        if (splits == 1)
        {
            e.Dispatch(spec, (1, (uint)c, 1), push, label, Arg.In(dy), Arg.Out(db));
            return;
        }
        var partial = PartialSums.Scratch(e, splits, c, label);
        e.Dispatch(spec, ((uint)splits, (uint)c, 1), push, label, Arg.In(dy), Arg.Out(partial));
        PartialSums.Sum(e, partial, db, $"{label}.sum");
    }
}

/// <summary><see cref="Conv2dBiasGradTree"/> over a channels-last dY (conv2d.bwd_bias_tree.nhwc), for GPUs.</summary>
internal sealed class Conv2dBiasGradTreeNhwc : Conv2dBiasGradTree
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
