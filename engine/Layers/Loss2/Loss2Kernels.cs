using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of <see cref="HuberLoss"/>, <see cref="BceWithLogitsLoss"/> and <see cref="SoftmaxCrossEntropyLoss"/>
/// (shaders/loss/huber.*, bce.*, softmax_ce.*): each forward is one workgroup reducing over everything to the mean;
/// each backward is elementwise (the softmax cross-entropy first recomputes per-row log-sum-exp, since values made in
/// the forward are not visible to the backward).
/// </summary>
internal static class Loss2Kernels
{
    const int Reduce = 256;

    /// <summary>Prediction and target of the same shape; the loss is a scalar [1].</summary>
    public static Shape CheckPair(string kind, IReadOnlyList<Shape> inputs, string first = "prediction")
    {
        if (inputs[0] != inputs[1]) throw new GraphException($"{kind}: {first} {inputs[0]} and target {inputs[1]} differ in shape.");
        return new Shape(1);
    }

    public static void HuberForward(ForwardPass f, float delta)
    {
        var spec = new KernelSpec("loss/huber.fwd", KernelSpec.Buffers(3), 4, new[] { KernelSpec.Word(delta) }, Reduce);
        f.Emitter.Dispatch(spec, (1, 1, 1), PushConstants.Ints((int)f.Input.Shape.Elements), $"{f.Name}.fwd",
            Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]), Arg.Out(f.Output));
    }

    public static void HuberBackward(BackwardPass b, float delta)
    {
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/huber.bwd", KernelSpec.Buffers(4), 4,
                new[] { KernelSpec.Word(delta), KernelSpec.Word(i == 0 ? 1f : -1f) }, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(b.GradOutput), Arg.Out(d));
        }
    }

    public static void BceForward(ForwardPass f)
    {
        var spec = new KernelSpec("loss/bce.fwd", KernelSpec.Buffers(3), 4, Array.Empty<uint>(), Reduce);
        f.Emitter.Dispatch(spec, (1, 1, 1), PushConstants.Ints((int)f.Input.Shape.Elements), $"{f.Name}.fwd",
            Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]), Arg.Out(f.Output));
    }

    public static void BceBackward(BackwardPass b)
    {
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/bce.bwd", KernelSpec.Buffers(4), 4, new[] { (uint)i }, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(b.GradOutput), Arg.Out(d));
        }
    }

    public static void SoftmaxCeForward(ForwardPass f)
    {
        var s = f.Inputs[0].Shape;
        var spec = new KernelSpec("loss/softmax_ce.fwd", KernelSpec.Buffers(3), 4, new[] { (uint)s[1] }, Reduce);
        f.Emitter.Dispatch(spec, (1, 1, 1), PushConstants.Ints(s[0]), $"{f.Name}.fwd",
            Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]), Arg.Out(f.Output));
    }

    public static void SoftmaxCeBackward(BackwardPass b)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var s = b.Inputs[0].Shape;
        int rows = s[0], classes = s[1];
        var stats = b.Emitter.NewValue(new Shape(rows, 2), ValueKind.Transient, $"{b.Name}.row_stats");
        var rowSpec = new KernelSpec("loss/softmax_ce.rows", KernelSpec.Buffers(3), 4, new[] { (uint)classes }, Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(rowSpec, b.Emitter.ElementwiseGroups(rows), PushConstants.Ints(rows), $"{b.Name}.bwd_rows",
            Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.Out(stats));
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/softmax_ce.bwd", KernelSpec.Buffers(5), 8, new[] { (uint)classes, (uint)i }, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements, rows),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(stats), Arg.In(b.GradOutput), Arg.Out(d));
        }
    }
}
