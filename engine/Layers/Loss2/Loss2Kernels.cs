using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of <see cref="HuberLoss"/>, <see cref="BceWithLogitsLoss"/> and <see cref="SoftmaxCrossEntropyLoss"/>
/// (shaders/loss/huber.*, bce.*, softmax_ce.*): each forward is a full reduction to the mean (<see cref="LossReduction"/>);
/// each backward is elementwise (the softmax cross-entropy first recomputes per-row log-sum-exp, since values made in
/// the forward are not visible to the backward).
/// </summary>
internal static class Loss2Kernels
{
    /// <summary>Prediction and target of the same shape; the loss is a scalar [1].</summary>
    public static Shape CheckPair(string kind, IReadOnlyList<Shape> inputs, string first = "prediction")
    {
        if (inputs[0] != inputs[1]) throw new GraphException($"{kind}: {first} {inputs[0]} and target {inputs[1]} differ in shape.");
        return new Shape(1);
    }

    /// <summary>A mean over every element of a same-shape pair, split by <see cref="LossReduction"/>.</summary>
    static void MeanForward(ForwardPass f, string module, uint[] constants)
    {
        long count = f.Input.Shape.Elements;
        var plan = LossReduction.Plan(f.Emitter, count, LossReduction.VectorUnit);
        LossReduction.Emit(f.Emitter, module, plan, 1, ReductionFinish.Mean, count, constants,
            PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk)), f.Output, $"{f.Name}.fwd", Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]));
    }

    public static void HuberForward(ForwardPass f, float delta)
    {
        MeanForward(f, "loss/huber.fwd", new[] { KernelSpec.Word(delta) });
    }

    public static void HuberBackward(BackwardPass b, float delta)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/huber.bwd", KernelSpec.Buffers(4), 4,
                new[] { KernelSpec.Word(delta), KernelSpec.Word(i == 0 ? 1f : -1f) }.Concat(LossKernels.TakeActivation(b, i)).ToArray(), Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(dloss), Arg.Out(d));
        }
    }

    public static void BceForward(ForwardPass f)
    {
        MeanForward(f, "loss/bce.fwd", Array.Empty<uint>());
    }

    public static void BceBackward(BackwardPass b)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/bce.bwd", KernelSpec.Buffers(4), 4, new[] { (uint)i }, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(dloss), Arg.Out(d));
        }
    }

    public static void SoftmaxCeForward(ForwardPass f)
    {
        var s = f.Inputs[0].Shape;
        int lanes = LossReduction.Split(f.Emitter).RowLanes(s[1]);
        var plan = LossReduction.Plan(f.Emitter, s[0], LossReduction.RowUnit / lanes);
        LossReduction.Emit(f.Emitter, "loss/softmax_ce.fwd", plan, 1, ReductionFinish.Mean, s[0], new[] { (uint)s[1], (uint)lanes },
            PushConstants.Ints(s[0], LossReduction.Word(plan.Chunk)), f.Output, $"{f.Name}.fwd", Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]));
    }

    public static void SoftmaxCeBackward(BackwardPass b)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var s = b.Inputs[0].Shape;
        int rows = s[0], classes = s[1];
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        var stats = b.Emitter.NewValue(new Shape(rows, 2), ValueKind.Transient, $"{b.Name}.row_stats");
        var rowSpec = new KernelSpec("loss/softmax_ce.rows", KernelSpec.Buffers(3), 4, new[] { (uint)classes }, Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(rowSpec, b.Emitter.ElementwiseGroups(rows), PushConstants.Ints(rows), $"{b.Name}.bwd_rows",
            Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.Out(stats));
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/softmax_ce.bwd", KernelSpec.Buffers(5), 8, new[] { (uint)classes, (uint)i }, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements, rows),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(stats), Arg.In(dloss), Arg.Out(d));
        }
    }
}
