using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// loss = sum(prediction * weights): its gradient with respect to the prediction is exactly the weights
/// input, which makes it the way to push a chosen output gradient through a network (gradient checks,
/// saliency). Inputs: prediction, weights (same element count).
/// </summary>
public sealed class DotLoss : Layer
{
    public override string Kind => "dot_loss";
    public override int? InputCount => 2;

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Elements != inputs[1].Elements)
            throw Mismatch($"dot_loss: prediction {inputs[0]} and weights {inputs[1]} differ in size.");
        return new Shape(1);
    }

    internal override void Forward(ForwardPass f)
    {
        long count = f.Input.Shape.Elements;
        var plan = LossReduction.Plan(f.Emitter, count, LossReduction.VectorUnit);
        LossReduction.Emit(f.Emitter, "loss/dot.fwd", plan, 1, ReductionFinish.Mean, 1f, Array.Empty<uint>(),
            PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk)), f.Output, $"{f.Name}.fwd", Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]));
    }

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/dot.bwd", KernelSpec.Buffers(3), 4, Array.Empty<uint>(), Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[1 - i]), Arg.In(dloss), Arg.Out(d));
        }
    }
}
