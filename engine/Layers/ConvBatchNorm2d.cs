using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A <see cref="Conv2d"/> followed by a <see cref="BatchNorm2d"/> that is the only reader of its output, in an inference
/// plan: the normalisation (running statistics, an affine map per channel) folded into the convolution's weight and bias
/// (shaders/batchnorm/batchnorm.fold.comp, a pass over the parameters each step), so one convolution computes both, and an
/// activation after the batch norm folds into it as into any convolution. What the compiler's fusion pass makes of
/// <c>BatchNorm2d(Conv2d(x))</c> (ResNet-style blocks, imported ONNX graphs). The parameters keep their layers' names
/// (checkpoints and uploads see the unfused network's). The convolution's other fusions (a following pool, row bands, a
/// concatenation read in its kernel) match the plain <see cref="Conv2d"/> only. Exists only in compiled plans.
/// </summary>
internal sealed class ConvBatchNorm2d : Layer, IFusableProducer
{
    readonly Conv2d conv;
    readonly string convName;
    readonly BatchNorm2d norm;
    readonly string normName;

    /// <param name="conv">The convolution.</param>
    /// <param name="convName">Its node: its parameters keep the node's name.</param>
    /// <param name="norm">The batch norm after it.</param>
    /// <param name="normName">Its node.</param>
    public ConvBatchNorm2d(Conv2d conv, string convName, BatchNorm2d norm, string normName)
    {
        this.conv = conv;
        this.convName = convName;
        this.norm = norm;
        this.normName = normName;
    }

    public override string Kind => "conv_batchnorm2d";

    public override IReadOnlyList<ParameterSpec> Parameters =>
        conv.Parameters.Select(p => p with { Name = $"{convName}.{p.Name}" })
            .Concat(norm.Parameters.Select(p => p with { Name = $"{normName}.{p.Name}" })).ToList();

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => norm.OutputShape(new[] { conv.OutputShape(inputs) });

    internal override void Forward(ForwardPass f)
    {
        var e = f.Emitter;
        var a = conv.Attributes;
        var w = f.Param($"{convName}.weight");
        string label = $"{convName}+{f.Name}.fwd";
        var folded = e.NewValue(w.Shape, ValueKind.Derived, $"{label}.folded_weight");
        var bias = e.NewValue(new Shape(a.OutChannels), ValueKind.Derived, $"{label}.folded_bias");
        Arg Norm(string p) => Arg.In(f.Param($"{normName}.{p}"));
        long weights = w.Shape.Elements;
        var spec = new KernelSpec("batchnorm/batchnorm.fold", KernelSpec.Buffers(8), 12, new[] { a.Bias ? 1u : 0u, KernelSpec.Word(norm.Eps) },
            Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(weights + a.OutChannels), PushConstants.Words((uint)weights, (uint)(weights / a.OutChannels), (uint)a.OutChannels),
            $"{label}.fold", Arg.In(w), Arg.In(a.Bias ? f.Param($"{convName}.bias") : w), Norm("weight"), Norm("bias"), Norm("running_mean"),
            Norm("running_var"), Arg.Out(folded), Arg.Out(bias));
        ConvForward.Emit(e, a with { Bias = true }, f.Input, folded, bias, f.Output, f.Activation, f.Slope, label);
    }

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) =>
        throw new GraphException($"{b.Name}: a convolution with the batch norm after it folded in is compiled into inference plans only.");
}
