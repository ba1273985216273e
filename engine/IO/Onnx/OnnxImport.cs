using Onnx;

namespace Kiln.IO;

/// <summary>
/// One import: walks the graph's nodes in order, keeping each ONNX value as a Kiln node (with its inferred
/// shape) or as a tensor known at import. The op table is in OnnxImport.Layers.cs (ops that become layers) and
/// OnnxImport.Folding.cs (shape arithmetic evaluated at import).
/// </summary>
internal sealed partial class OnnxImport
{
    delegate OnnxValue?[] OpHandler(NodeProto node, OnnxValue?[] inputs);

    readonly ModelProto model;
    readonly string folder;
    readonly string where;
    readonly IReadOnlyDictionary<string, Shape> givenShapes;
    readonly Network net = new();
    readonly Dictionary<string, OnnxValue> values = new();
    readonly Dictionary<string, Node> constantNodes = new();
    readonly List<OnnxParameter> parameters = new();
    readonly Dictionary<string, float[]> parameterValues = new();
    readonly List<(string OnnxName, Func<Func<string, float[]>, float[]> Gradient)> gradients = new();
    readonly HashSet<string> usedNames = new();
    readonly Dictionary<string, OpHandler> ops;
    readonly Dictionary<string, Shape> inputShapes = new();
    Node? anchor;
    int opset;

    public OnnxImport(ModelProto model, string folder, string where, IReadOnlyDictionary<string, Shape> givenShapes)
    {
        this.model = model;
        this.folder = folder;
        this.where = where;
        this.givenShapes = givenShapes;
        ops = new Dictionary<string, OpHandler>();
        RegisterLayerOps();
        RegisterFoldingOps();
    }

    public OnnxModel Run()
    {
        var g = model.Graph ?? throw new KilnException($"{where}: the model has no graph (not an ONNX model, or an empty file).");
        opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => (int)o.Version).DefaultIfEmpty(0).Max();
        if (opset == 0) throw new KilnException($"{where}: the model imports no version of the default ONNX operator set.");
        if (opset < 7) throw new KilnException($"{where}: opset {opset} is older than Kiln reads (7 or newer).");

        var initializerNames = new HashSet<string>();
        foreach (var t in g.Initializer)
        {
            if (!initializerNames.Add(t.Name)) throw new KilnException($"{where}: initializer '{t.Name}' is defined twice.");
            values[t.Name] = OnnxValue.Const(OnnxTensorReader.Read(t, folder, where), t.Name);
        }
        foreach (var input in g.Input.Where(i => !initializerNames.Contains(i.Name)))
            DeclareInput(input);
        foreach (var extra in givenShapes.Keys.Where(k => !inputShapes.ContainsKey(k)))
            throw new KilnException($"{where}: a shape was given for '{extra}', which is not an input of the model (inputs: {string.Join(", ", inputShapes.Keys)}).");

        var gelu = OnnxGeluPattern.Find(g, values, folder);
        foreach (var node in g.Node)
        {
            if (gelu.Skipped.Contains(node)) continue;
            if (gelu.Final.TryGetValue(node, out var geluInput))
            {
                var x = Value(geluInput, node);
                Bind(node, new OnnxValue?[] { AddLayer(node, new Gelu(), new[] { AsNode(x, node) }) });
                continue;
            }
            Import(node);
        }

        var outputs = new Dictionary<string, Shape>();
        foreach (var o in g.Output)
        {
            var v = Value(o.Name, null);
            if (v.IsConstant) throw new KilnException($"{where}: output '{o.Name}' does not depend on any input (a constant).");
            var node = v.Node!;
            // A Kiln output must be computed by a kernel: a view (Reshape, Flatten) or an input passed through gets a copy.
            if (node.IsInput || node.Layer!.IsView || net.Outputs.Any(x => x.Node == node))
                node = net.Add(new Kiln.Clip(float.NegativeInfinity, float.PositiveInfinity), $"{o.Name}/copy", node);
            net.Output(node, o.Name);
            outputs[o.Name] = v.Shape!;
        }
        if (outputs.Count == 0) throw new KilnException($"{where}: the graph has no outputs.");
        return new OnnxModel(net, opset, inputShapes, outputs, parameters, parameterValues, gradients);
    }

    void DeclareInput(ValueInfoProto input)
    {
        var tensorType = input.Type?.TensorType ?? throw new KilnException($"{where}: input '{input.Name}' is not a tensor.");
        if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float)
            throw new KilnException($"{where}: input '{input.Name}' has element type {(TensorProto.Types.DataType)tensorType.ElemType}; Kiln reads f32 inputs only.");
        var declared = tensorType.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue : -1).ToArray();
        Shape shape;
        if (givenShapes.TryGetValue(input.Name, out var given))
        {
            if (declared != null && (declared.Length != given.Rank || declared.Where((d, i) => d >= 0 && d != given[i]).Any()))
                throw new KilnException($"{where}: input '{input.Name}' is [{string.Join(",", declared.Select(d => d < 0 ? "?" : d.ToString()))}] in the model, {given} given.");
            shape = given;
        }
        else
        {
            if (declared == null || declared.Any(d => d < 0))
                throw new KilnException($"{where}: input '{input.Name}' has no fixed shape in the model; give one (its data file's shape).");
            if (declared.Any(d => d > int.MaxValue)) throw new KilnException($"{where}: input '{input.Name}' has a dimension too large.");
            try { shape = new Shape(declared.Select(d => (int)d).ToArray()); }
            catch (ArgumentException e) { throw new KilnException($"{where}: input '{input.Name}': {e.Message}"); }
        }
        if (shape.Rank == 0) throw new KilnException($"{where}: input '{input.Name}' is a scalar; Kiln inputs have a batch dimension.");
        var node = net.Input(input.Name);
        anchor ??= node;
        inputShapes[input.Name] = shape;
        values[input.Name] = OnnxValue.Graph(node, shape);
    }

    void Import(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw new KilnException($"{where}: {Where(node)}: op domain '{node.Domain}' is not supported (only the default ONNX domain).");
        if (!ops.TryGetValue(node.OpType, out var handler))
            throw new KilnException($"{where}: {Where(node)}: op type {node.OpType} is not supported.");
        var inputs = node.Input.Select(name => name.Length == 0 ? null : Value(name, node)).ToArray();
        OnnxValue?[] outputs;
        try
        {
            outputs = handler(node, inputs);
        }
        catch (KilnException e) when (e.Message.StartsWith(where + ":", StringComparison.Ordinal)) { throw; }
        catch (Exception e) when (e is KilnException or ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException)
        {
            throw new KilnException($"{where}: {Where(node)}: {e.Message}");
        }
        catch (Exception e) when (e is NullReferenceException or InvalidCastException or KeyNotFoundException or DivideByZeroException)
        {
            // A malformed node the checks above did not anticipate: still one line naming the node.
            throw new KilnException($"{where}: {Where(node)}: malformed ({e.GetType().Name}: {e.Message})");
        }
        Bind(node, outputs);
    }

    void Bind(NodeProto node, OnnxValue?[] outputs)
    {
        for (int i = 0; i < node.Output.Count; i++)
        {
            var name = node.Output[i];
            if (name.Length == 0) continue;
            if (values.ContainsKey(name)) throw new KilnException($"{where}: {Where(node)}: output '{name}' is already defined.");
            if (i < outputs.Length && outputs[i] is { } v) values[name] = v;
            // Outputs Kiln does not compute (Dropout's mask, MaxPool's indices) fail only where something reads them.
        }
    }

    OnnxValue Value(string name, NodeProto? reader) =>
        values.TryGetValue(name, out var v) ? v
            : throw new KilnException($"{where}: {(reader == null ? "graph output" : Where(reader))}: value '{name}' is not produced by any earlier node, input or initializer (or is an output Kiln does not compute).");

    string Where(NodeProto n) => $"node '{(n.Name.Length > 0 ? n.Name : "(unnamed)")}' ({n.OpType})";

    /// <summary>A unique Kiln node name from the ONNX node's (plus a suffix for the extra nodes one ONNX node makes).</summary>
    string NodeName(NodeProto n, string? suffix = null)
    {
        var baseName = (n.Name.Length > 0 ? n.Name : $"{n.OpType}_{usedNames.Count}") + suffix;
        var name = baseName;
        for (int k = 1; !usedNames.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }

    /// <summary>Adds <paramref name="layer"/> for <paramref name="n"/> and infers its output shape.</summary>
    OnnxValue AddLayer(NodeProto n, Layer layer, Node[] from, string? nameSuffix = null)
    {
        var name = NodeName(n, nameSuffix);
        var shapes = from.Select(ShapeOf).ToList();
        Shape shape;
        try { shape = layer.OutputShape(shapes); }
        catch (GraphException e) { throw new KilnException($"{where}: {Where(n)} (inputs {string.Join(", ", shapes)}): {e.Message}"); }
        var node = net.Add(layer, name, from);
        nodeShapes[node] = shape;
        return OnnxValue.Graph(node, shape);
    }

    readonly Dictionary<Node, Shape> nodeShapes = new();

    Shape ShapeOf(Node n) => n.IsInput ? inputShapes[n.Name] : nodeShapes[n];

    /// <summary>Records that Kiln parameter <paramref name="param"/> of <paramref name="layerNode"/> holds initializer or constant <paramref name="v"/>.</summary>
    void BindParameter(OnnxValue layerNode, string param, OnnxValue v, float[] kilnValues, bool trainable = true,
        Func<Func<string, float[]>, float[]>? gradient = null)
    {
        var kilnName = $"{layerNode.Node!.Name}.{param}";
        parameterValues[kilnName] = kilnValues;
        if (v.Initializer is not { } onnxName) return;
        parameters.Add(new OnnxParameter(onnxName, kilnName, v.Constant!.Dims, trainable));
        if (trainable) gradients.Add((onnxName, gradient ?? (grad => grad(kilnName))));
    }

    /// <summary>A Kiln node for a value: constants become a <see cref="Constant"/> layer (trainable when an initializer).</summary>
    Node AsNode(OnnxValue v, NodeProto n)
    {
        if (v.Node != null) return v.Node;
        var key = v.Initializer ?? $"constant#{constantNodes.Count}";
        if (v.Initializer != null && constantNodes.TryGetValue(key, out var cached)) return cached;
        if (anchor == null) throw new KilnException($"{where}: {Where(n)}: the model has no inputs to place a constant after.");
        var c = v.Constant!;
        var layer = new Constant(c.ToShape(), trainable: v.Initializer != null);
        var value = AddLayer(n, layer, new[] { anchor }, "/const");
        BindParameter(value, "value", v, c.AsFloats());
        constantNodes[key] = value.Node!;
        return value.Node!;
    }

    OnnxTensor Const(OnnxValue? v, NodeProto n, string what) =>
        v?.Constant ?? throw new KilnException($"{where}: {Where(n)}: {what} must be known at import (an initializer or constant); here it is computed from the inputs, which Kiln does not support.");

    OnnxValue Graph(OnnxValue? v, NodeProto n, string what) =>
        v ?? throw new KilnException($"{where}: {Where(n)}: {what} is missing.");

    // Attributes.
    static AttributeProto? Attr(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);
    static long Int(NodeProto n, string name, long fallback) => Attr(n, name) is { } a ? a.I : fallback;
    static float Float(NodeProto n, string name, float fallback) => Attr(n, name) is { } a ? a.F : fallback;
    static string Str(NodeProto n, string name, string fallback) => Attr(n, name) is { } a ? a.S.ToStringUtf8() : fallback;
    static long[]? Ints(NodeProto n, string name) => Attr(n, name) is { } a ? a.Ints.ToArray() : null;
    static float[]? Floats(NodeProto n, string name) => Attr(n, name) is { } a ? a.Floats.ToArray() : null;

    static int ToInt(long v, string what) =>
        v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new KilnException($"{what} {v} is out of range.");

    KilnException NotSupported(NodeProto n, string what) => new($"{where}: {Where(n)}: {what} is not supported.");
}
