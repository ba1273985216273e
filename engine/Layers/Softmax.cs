using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Softmax along one axis of a tensor of any rank (PyTorch's Softmax(dim), ONNX Softmax from opset 13), computed
/// stably by subtracting each row's maximum. The default axis 1 is the channels of [N, C] or [N, C, H, W]; a
/// negative axis counts from the end (-1 is the last).
/// </summary>
public sealed class Softmax : Layer
{
    /// <summary>Softmax along <paramref name="axis"/> (checked against the input's rank when the network compiles).</summary>
    public Softmax(int axis = 1) => Axis = axis;

    /// <summary>The axis the values sum to one along; negative counts from the end.</summary>
    public int Axis { get; }
    public override string Kind => "softmax";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (Axis < -x.Rank || Axis >= x.Rank) throw Mismatch($"softmax: axis {Axis} is out of range for the rank-{x.Rank} input {x}.");
        return x;
    }

    /// <summary>Rows before the axis, its length, and elements after it (the stride between a row's values).</summary>
    (int Outer, int C, int Inner) Split(Shape s)
    {
        int axis = Axis < 0 ? Axis + s.Rank : Axis;
        int outer = 1, inner = 1;
        for (int k = 0; k < axis; k++) outer *= s[k];
        for (int k = axis + 1; k < s.Rank; k++) inner *= s[k];
        return (outer, s[axis], inner);
    }

    internal override void Forward(ForwardPass f) => Emit(f.Emitter, "softmax/softmax.fwd", Split(f.Input.Shape), $"{f.Name}.fwd",
        Arg.In(f.Input), Arg.Out(f.Output));

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        Emit(b.Emitter, "softmax/softmax.bwd", Split(b.Input.Shape), $"{b.Name}.bwd", Arg.In(b.Output), Arg.In(b.GradOutput), Arg.Out(dx));
    }

    static void Emit(Emitter e, string module, (int Outer, int C, int Inner) split, string label, params Arg[] args)
    {
        var (n, c, inner) = split;
        int rows = n * inner;
        var spec = new KernelSpec(module, KernelSpec.Buffers(args.Length), 12, new[] { (uint)c, (uint)inner }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(rows), PushConstants.Ints(rows, c, inner), label, args);
    }
}
