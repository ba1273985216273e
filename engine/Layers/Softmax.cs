using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Softmax over dim 1 (the channels) of [N, C] or [N, C, H, W] (PyTorch's Softmax(dim=1)), computed
/// stably by subtracting each row's maximum.
/// </summary>
public sealed class Softmax : Layer
{
    public override string Kind => "softmax";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 2 && x.Rank != 4) throw Mismatch($"softmax takes [N, C] or [N, C, H, W], got {x}.");
        return x;
    }

    internal override void Forward(ForwardPass f) => Emit(f.Emitter, "softmax/softmax.fwd", f.Input.Shape, $"{f.Name}.fwd",
        Arg.In(f.Input), Arg.Out(f.Output));

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        Emit(b.Emitter, "softmax/softmax.bwd", b.Input.Shape, $"{b.Name}.bwd", Arg.In(b.Output), Arg.In(b.GradOutput), Arg.Out(dx));
    }

    static void Emit(Emitter e, string module, Shape shape, string label, params Arg[] args)
    {
        var (n, c, inner) = NormKernels.Split(shape);
        int rows = n * inner;
        var spec = new KernelSpec(module, KernelSpec.Buffers(args.Length), 12, new[] { (uint)c, (uint)inner }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(rows), PushConstants.Ints(rows, c, inner), label, args);
    }
}
