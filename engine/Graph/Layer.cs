using Kiln.Graph;

namespace Kiln;

/// <summary>
/// A network layer: its shape rule, its parameters, its forward pass and its gradient rule. Each layer lives
/// in one file under engine/Layers with its shaders under shaders/&lt;kind&gt;/; nothing in the graph code
/// switches on layer types.
/// </summary>
public abstract class Layer
{
    /// <summary>Short lowercase type name ("conv2d"), used in node names and plans.</summary>
    public abstract string Kind { get; }

    /// <summary>The learnable tensors, in a fixed order (PyTorch's names: weight, bias).</summary>
    public virtual IReadOnlyList<ParameterSpec> Parameters => Array.Empty<ParameterSpec>();

    /// <summary>How many inputs the layer takes; null for any number from one up.</summary>
    public virtual int? InputCount => 1;

    /// <summary>The output shape for these input shapes; throws <see cref="GraphException"/> (via <see cref="Mismatch"/>) when they don't fit.</summary>
    public abstract Shape OutputShape(IReadOnlyList<Shape> inputs);

    /// <summary>True when the output is a view of the first input's storage (Flatten, Reshape): no kernel runs.</summary>
    internal virtual bool IsView => false;

    /// <summary>
    /// Whether the forward takes its 4-D inputs and writes its output channels-last (<see cref="TensorLayout.Nhwc"/>)
    /// for these input shapes: where <see cref="CompileOptions.ActivationLayout"/> asks for NHWC, the compiler hands
    /// such a layer NHWC values and makes its output NHWC (a loss's one value has no layout), and transposes NHWC values
    /// to NCHW for any other.
    /// </summary>
    internal virtual bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => false;

    /// <summary>
    /// Whether the gradient rule, for these input shapes, takes its forward values and dY channels-last and writes its input
    /// gradients channels-last, where the forward ran NHWC (<see cref="ForwardsNhwc"/>) in a training plan: the compiler
    /// then hands it NHWC values; any other rule gets NCHW ones (transposed once per value) and writes NCHW gradients.
    /// </summary>
    internal virtual bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => false;

    /// <summary>Emits the forward dispatches.</summary>
    internal abstract void Forward(ForwardPass f);

    /// <summary>Emits the gradient dispatches: of each input that needs one, and of each parameter.</summary>
    internal virtual void Backward(BackwardPass b) =>
        throw new GraphException($"{b.Name}: {Kind} has no gradient rule, so it can't be trained through.");

    /// <summary>
    /// How the layer moves an image-to-image network's receptive field (<see cref="Embedding.ReceptiveField"/>): given
    /// that each pixel of its input covers an s x s block of the network's input and depends on r input pixels beyond
    /// it, the same for its output; null when an output pixel may depend on the whole image (the default), throwing
    /// <see cref="NotSupportedException"/> for a geometry the rule does not cover.
    /// </summary>
    internal virtual (int Stride, int Radius)? ReceptiveStep(int s, int r) => null;

    /// <summary>An exception for input shapes this layer can't take; the compiler adds the node's name.</summary>
    protected static GraphException Mismatch(string message) => new(message);

    public override string ToString() => Kind;
}

/// <summary>A layer that can apply an activation to its own output in the same kernel (conv, linear): fusion target.</summary>
internal interface IFusableProducer { }

/// <summary>An elementwise activation layer that the fusion pass can fold into its producer.</summary>
internal interface IActivationLayer
{
    Activation Activation { get; }
    float Slope { get; }
}
