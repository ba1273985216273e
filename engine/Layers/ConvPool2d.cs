using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A <see cref="Conv2d"/> (with its fused activation) followed by a 2x2, stride-2 <see cref="MaxPool2d"/> that is the only
/// reader of its output: what the compiler's fusion pass makes of an encoder's <c>MaxPool2d(act(Conv2d(x)))</c> in an
/// inference plan, as in the denoiser's UNet, whose skips are the pooled outputs. Its kernel (the ".pool" variant of a
/// candidate that has one, <see cref="IConv2dForward.Pools"/>: the direct, Winograd, tensor-core patch and
/// cooperative_matrix2 kernels) takes
/// the maxima in its epilogue, so the unpooled output is never written and read back. Where none takes the layer (texel
/// reads, the default on CPU devices) it writes the convolution's output to a transient and runs the pool kernel. Either
/// way the result is the unfused layers' bit for bit. Inference only; exists only in compiled plans (no receptive step).
/// </summary>
internal sealed class ConvPool2d : Layer
{
    readonly Conv2d conv;
    readonly string name;
    readonly MaxPool2d pool;
    readonly Activation activation;
    readonly float slope;

    /// <param name="conv">The convolution.</param>
    /// <param name="name">The convolution's node: its parameters keep the node's name.</param>
    /// <param name="activation">The activation folded into the convolution, applied before the pool.</param>
    /// <param name="slope">Its slope (LeakyReLU).</param>
    /// <param name="pool">The pool: 2x2, stride 2.</param>
    public ConvPool2d(Conv2d conv, string name, Activation activation, float slope, MaxPool2d pool)
    {
        if (pool.KernelSize != (2, 2) || pool.Stride != (2, 2)) throw new ArgumentException("conv_pool2d: a 2x2 max pool of stride 2.");
        this.conv = conv;
        this.name = name;
        this.activation = activation;
        this.slope = slope;
        this.pool = pool;
    }

    public override string Kind => "conv_pool2d";

    public override IReadOnlyList<ParameterSpec> Parameters => conv.Parameters.Select(p => p with { Name = $"{name}.{p.Name}" }).ToList();

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => pool.OutputShape(new[] { conv.OutputShape(inputs) });

    internal override void Forward(ForwardPass f)
    {
        var e = f.Emitter;
        var a = conv.Attributes;
        var (w, bias) = (f.Param($"{name}.weight"), a.Bias ? f.Param($"{name}.bias") : null);
        var convOutput = conv.OutputShape(new[] { f.Input.Shape });
        string label = $"{name}+{f.Name}.fwd";
        if (ConvForward.EmitPool(e, a, f.Input, w, bias, convOutput, f.Output, activation, slope, label)) return;
        var y = e.NewValue(convOutput, ValueKind.Transient, $"{f.Name}.conv", f.Output.ElementType, f.Output.Layout);
        ConvForward.Emit(e, a, f.Input, w, bias, y, activation, slope, label);
        Pool2dKernels.Forward(new ForwardPass(e, new[] { y }, f.Output, new Dictionary<string, Value>(), f.Name), Pool2dKernels.Max,
            pool.KernelSize, pool.Stride);
    }

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) =>
        throw new GraphException($"{b.Name}: a convolution fused with the max pool after it is compiled into inference plans only.");
}
