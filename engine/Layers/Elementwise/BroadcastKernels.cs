using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of shaders/binary/binary.bcast.fwd.comp and binary.bcast.bwd.comp: a binary op whose inputs differ in
/// shape and broadcast (<see cref="Broadcast"/>). The backward gathers: one invocation (or, for long reductions, one
/// workgroup summing in a fixed tree) per element of the input whose gradient it writes, so results are deterministic;
/// a reduction longer than two chunks of <see cref="Chunk"/> is split over workgroups of a chunk each, their partial
/// sums added in order by reduce/partials.
/// </summary>
internal static class BroadcastKernels
{
    const uint GroupLocal = 64;
    /// <summary>From this many output elements per gradient element on, a workgroup (not one invocation) sums them.</summary>
    const long GroupReductionFrom = 64;
    /// <summary>Output elements a workgroup of the split form sums for one gradient element.</summary>
    const int Chunk = 4096;

    static int[] Layout(Shape a, Shape b, Shape y) =>
        Broadcast.Dims(y).Concat(Broadcast.Strides(a, y)).Concat(Broadcast.Strides(b, y)).ToArray();

    /// <summary>y = a OP b with broadcasting.</summary>
    public static void Forward(Emitter e, BinaryOp op, Value a, Value b, Value y, string label)
    {
        var spec = new KernelSpec("binary/binary.bcast.fwd", KernelSpec.Buffers(3), 4 * (1 + 3 * Broadcast.MaxRank),
            new[] { (uint)op }, Emitter.ElementwiseLocal);
        var push = PushConstants.Ints(new[] { (int)y.Shape.Elements }.Concat(Layout(a.Shape, b.Shape, y.Shape)).ToArray());
        e.Dispatch(spec, e.ElementwiseGroups(y.Shape.Elements), push, label, Arg.In(a), Arg.In(b), Arg.Out(y));
    }

    /// <summary>
    /// The gradient of input <paramref name="which"/> (0 = a, 1 = b): the op's local gradient at each output element,
    /// summed over the output elements that read the same input element. Add and sub read neither input.
    /// </summary>
    public static void Backward(Emitter e, BinaryOp op, int which, Value a, Value b, Value dy, Value d, string label)
    {
        long count = d.Shape.Elements, reduce = dy.Shape.Elements / count, chunks = (reduce + Chunk - 1) / Chunk;
        bool perGroup = reduce >= GroupReductionFrom;
        var push = PushConstants.Ints(new[] { (int)count, (int)reduce }.Concat(Layout(a.Shape, b.Shape, dy.Shape)).ToArray());
        bool readsInputs = op is BinaryOp.Mul or BinaryOp.Div;
        var (first, second) = (readsInputs ? a : dy, readsInputs ? b : dy);
        var constants = new[] { (uint)op, (uint)which, perGroup ? 1u : 0u, (uint)Chunk };
        if (chunks <= 2 || count > 65535 || chunks > 65535)
        {
            var spec = new KernelSpec("binary/binary.bcast.bwd", KernelSpec.Buffers(4), 4 * (2 + 3 * Broadcast.MaxRank), constants,
                perGroup ? GroupLocal : Emitter.ElementwiseLocal);
            var groups = perGroup ? NormKernels.PerItemGroups(count) : e.ElementwiseGroups(count);
            e.Dispatch(spec, groups, push, label, Arg.In(first), Arg.In(second), Arg.In(dy), Arg.Out(d));
            return;
        }
        var partial = PartialSums.Scratch(e, (int)chunks, count, label);
        var split = new KernelSpec("binary/binary.bcast.bwd.split", KernelSpec.Buffers(4), 4 * (2 + 3 * Broadcast.MaxRank), constants, GroupLocal);
        e.Dispatch(split, ((uint)chunks, (uint)count, 1), push, label, Arg.In(first), Arg.In(second), Arg.In(dy), Arg.Out(partial));
        PartialSums.Sum(e, partial, d, $"{label}.sum");
    }
}
