namespace Kiln.IO;

/// <summary>An ONNX value during import: a node of the Kiln graph with its shape, or a tensor known at import.</summary>
internal sealed class OnnxValue
{
    OnnxValue(Node? node, Shape? shape, OnnxTensor? constant, string? initializer)
    {
        Node = node;
        Shape = shape;
        Constant = constant;
        Initializer = initializer;
    }

    public Node? Node { get; }
    public Shape? Shape { get; }
    public OnnxTensor? Constant { get; }
    /// <summary>The initializer this constant is, when it is one (its gradient is wanted).</summary>
    public string? Initializer { get; }
    public bool IsConstant => Constant != null;

    public static OnnxValue Graph(Node node, Shape shape) => new(node, shape, null, null);
    public static OnnxValue Const(OnnxTensor t, string? initializer = null) => new(null, null, t, initializer);

    /// <summary>The dims of either kind of value.</summary>
    public long[] Dims => Constant?.Dims ?? Shape!.ToArray().Select(d => (long)d).ToArray();
}
