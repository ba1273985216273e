using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>The pointwise error of a regression loss.</summary>
internal enum LossKind { Mse = 0, L1 = 1 }

/// <summary>
/// Shape rules and dispatches of the mean-reduced regression losses (shaders/loss/mse.*, l1.*, masked.*):
/// the forward is a full reduction (<see cref="LossReduction"/>); the backward is elementwise (the masked ones first
/// reduce the mask again to the denominator, in the forward's order, since values made in the forward are not visible
/// to the backward).
/// </summary>
internal static class LossKernels
{
    static string Module(LossKind kind) => kind == LossKind.Mse ? "mse" : "l1";

    /// <summary>
    /// Whether a loss of these 4-D inputs runs in a channels-last plan's NHWC (MSE, L1, Huber, BCE with logits and the masked
    /// ones: a pointwise error, then a sum over every element, so any layout the inputs share gives the same terms, summed
    /// in another order; a mask broadcast over the channels is found from the layout, <see cref="Layout"/>): the
    /// prediction, the last layer's NHWC output, is read as it is and its gradient written NHWC, so neither is transposed,
    /// and the target is made NHWC as it comes in.
    /// </summary>
    public static bool Elementwise(IReadOnlyList<Shape> inputs) => inputs[0].Rank == 4;

    public static Shape CheckPair(string kind, IReadOnlyList<Shape> inputs)
    {
        if (inputs[0] != inputs[1]) throw new GraphException($"{kind}: prediction {inputs[0]} and target {inputs[1]} differ in shape.");
        return new Shape(1);
    }

    /// <summary>Checks prediction, target and mask; true when the mask is [N,1,...] broadcast over the channels.</summary>
    public static bool CheckMasked(string kind, IReadOnlyList<Shape> inputs)
    {
        CheckPair(kind, inputs);
        Shape p = inputs[0], m = inputs[2];
        if (m == p) return false;
        if (p.Rank >= 2 && m == p.With(1, 1)) return true;
        throw new GraphException($"{kind}: mask {m} must be the prediction's shape {p}" + (p.Rank >= 2 ? $" or {p.With(1, 1)} (broadcast over channels)." : "."));
    }

    public static void Forward(ForwardPass f, LossKind kind)
    {
        long count = f.Input.Shape.Elements;
        var plan = LossReduction.Plan(f.Emitter, count, LossReduction.VectorUnit);
        LossReduction.Emit(f.Emitter, $"loss/{Module(kind)}.fwd", plan, 1, ReductionFinish.Mean, count, Array.Empty<uint>(),
            PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk)), f.Output, $"{f.Name}.fwd", Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]));
    }

    public static void Backward(BackwardPass b, LossKind kind)
    {
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var constants = new[] { KernelSpec.Word(i == 0 ? 1f : -1f) }.Concat(TakeActivation(b, i)).ToArray();
            var spec = new KernelSpec($"loss/{Module(kind)}.bwd", KernelSpec.Buffers(4), 4, constants, Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(dloss), Arg.Out(d));
        }
    }

    /// <summary>
    /// The specialization constants ACT and SLOPE of a loss's backward kernel writing input <paramref name="n"/>'s gradient
    /// (shaders/include/loss_act.glsl): the activation offered for that input (<see cref="BackwardPass.InputActivations"/>,
    /// a UNet's final sigmoid), marked as taken, where it has no other reader's part to add (the kernel adds none); else
    /// none (ACT_NONE), and the activation keeps its own pass.
    /// </summary>
    internal static uint[] TakeActivation(BackwardPass b, int n)
    {
        if (b.InputActivations[n] is not { Addend: null } g) return new[] { (uint)Activation.None, KernelSpec.Word(0f) };
        b.ActivatedGradInputs[n] = true;
        return new[] { (uint)g.Activation, KernelSpec.Word(g.Slope) };
    }

    /// <summary>
    /// Where the mask is broadcast over the channels, the prediction's channels and the elements a channel's run holds
    /// (shaders/loss/masked.glsl's kiln_mask_index: mask element (i / (channels inner)) inner + i % inner): NCHW, a whole
    /// channel plane; NHWC, one element (the mask [N,H,W,1] lies as [N,1,H,W] does, so element i's is i / channels).
    /// </summary>
    static (bool Broadcast, int Channels, int Inner) Layout(Value prediction, Value mask)
    {
        var p = prediction.Shape;
        bool broadcast = mask.Shape != p;
        int channels = broadcast ? p[1] : 1;
        int inner = !broadcast || prediction.Layout == TensorLayout.Nhwc ? 1 : (int)(p.Elements / p[0] / p[1]);
        return (broadcast, channels, inner);
    }

    static ReductionPlan MaskedPlan(Emitter e, long count) => LossReduction.Plan(e, count, LossReduction.VectorUnit);

    public static void MaskedForward(ForwardPass f, LossKind kind)
    {
        var (broadcast, channels, inner) = Layout(f.Inputs[0], f.Inputs[2]);
        long count = f.Inputs[0].Shape.Elements, maskCount = f.Inputs[2].Shape.Elements;
        var plan = MaskedPlan(f.Emitter, count);
        LossReduction.Emit(f.Emitter, "loss/masked.fwd", plan, 2, ReductionFinish.Ratio, channels, new[] { (uint)kind, broadcast ? 1u : 0u },
            PushConstants.Ints((int)count, LossReduction.Word(plan.Chunk), (int)maskCount, LossReduction.Word(plan.ChunkFor(maskCount)), channels, inner),
            f.Output, $"{f.Name}.fwd", Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]), Arg.In(f.Inputs[2]));
    }

    public static void MaskedBackward(BackwardPass b, LossKind kind)
    {
        // The mask is a constant of the loss (like a detached tensor): its gradient, when asked for, is zero.
        if (b.GradInputs[2] is { } dm) b.Emitter.Fill(dm, 0f, $"{b.Name}.bwd_mask");
        if (b.GradInputs[0] == null && b.GradInputs[1] == null) return;
        var (broadcast, channels, inner) = Layout(b.Inputs[0], b.Inputs[2]);
        var dloss = LossReduction.Seed(b.Emitter, b.GradOutput, b.Name);
        var den = b.Emitter.NewValue(new Shape(1), ValueKind.Transient, $"{b.Name}.mask_sum");
        // The forward's split of the mask (planned from the prediction's size), so the forward's denominator bits.
        long maskCount = b.Inputs[2].Shape.Elements;
        var plan = MaskedPlan(b.Emitter, b.Inputs[0].Shape.Elements);
        LossReduction.Emit(b.Emitter, "loss/masked.den", plan, 1, ReductionFinish.Clamp, channels, Array.Empty<uint>(),
            PushConstants.Ints((int)maskCount, LossReduction.Word(plan.ChunkFor(maskCount))), den, $"{b.Name}.bwd_den", Arg.In(b.Inputs[2]));
        for (int i = 0; i < 2; i++)
        {
            if (b.GradInputs[i] is not { } d) continue;
            var spec = new KernelSpec("loss/masked.bwd", KernelSpec.Buffers(6), 12,
                new[] { (uint)kind, broadcast ? 1u : 0u, KernelSpec.Word(i == 0 ? 1f : -1f) }.Concat(TakeActivation(b, i)).ToArray(), Emitter.ElementwiseLocal);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), PushConstants.Ints((int)d.Shape.Elements, channels, inner),
                $"{b.Name}.bwd{i}", Arg.In(b.Inputs[0]), Arg.In(b.Inputs[1]), Arg.In(b.Inputs[2]), Arg.In(den), Arg.In(dloss), Arg.Out(d));
        }
    }
}
