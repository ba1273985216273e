using Google.Protobuf;
using Onnx;

namespace Kiln.IO;

/// <summary>
/// Writes a Kiln <see cref="Network"/> with its parameter values as an ONNX model (opset 17) that ONNX Runtime and
/// other runtimes read: the inference graph from the inputs to the named outputs (a loss is left out; BatchNorm2d
/// on its running statistics, Dropout as Identity). Each layer type maps through one table entry
/// (OnnxExporter.Layers.cs); a layer without one is an error naming it. Parameters become initializers named as
/// Kiln names them ("node.param"), so a model exported and imported again keeps its names.
/// </summary>
public static partial class OnnxExporter
{
    /// <summary>The operator set written.</summary>
    public const int Opset = 17;

    /// <summary>Writes the network with the parameter values of <paramref name="compiled"/> (a network compiled from it, e.g. after training or LoadParameters).</summary>
    public static void Save(Network network, CompiledNetwork compiled, string path)
    {
        ArgumentNullException.ThrowIfNull(compiled);
        var shapes = compiled.Inputs.Where(kv => network.Inputs.ContainsKey(kv.Key) && network.Outputs.Any(o => DependsOn(o.Node, kv.Key)))
            .ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        var values = compiled.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        Save(network, shapes, values, path);
    }

    /// <summary>Writes the network with input shapes and parameter values given by Kiln name ("node.param").</summary>
    public static void Save(Network network, IReadOnlyDictionary<string, Shape> inputShapes, IReadOnlyDictionary<string, float[]> parameters, string path)
    {
        var bytes = Export(network, inputShapes, parameters);
        try
        {
            AtomicFile.Write(path, s => s.Write(bytes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KilnException($"{path}: can't write the ONNX model ({e.Message}).");
        }
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] Export(Network network, IReadOnlyDictionary<string, Shape> inputShapes, IReadOnlyDictionary<string, float[]> parameters)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.Outputs.Count == 0) throw new KilnException("export: the network has no outputs.");
        var model = new ModelProto { IrVersion = 8, ProducerName = "kiln", ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "", Graph = new GraphProto { Name = "kiln" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        var w = new Writer(model.Graph, parameters);

        var order = Order(network);
        foreach (var input in order.Where(n => n.IsInput))
        {
            if (!inputShapes.TryGetValue(input.Name, out var shape)) throw new KilnException($"export: no shape given for input '{input.Name}'.");
            model.Graph.Input.Add(ValueInfo(input.Name, shape));
        }
        foreach (var node in order.Where(n => !n.IsInput))
        {
            if (!Table.TryGetValue(node.Layer!.GetType(), out var write))
                throw new KilnException($"export: {node}: layer type {node.Layer.GetType().Name} has no ONNX form in the exporter.");
            write(w, node);
        }
        foreach (var (name, node) in network.Outputs)
        {
            if (name != node.Name) w.Op("Identity", $"{name}/identity", new[] { node.Name }, name);
            model.Graph.Output.Add(ValueInfo(name, null));
        }
        return model.ToByteArray();
    }

    static bool DependsOn(Node node, string input) =>
        node.IsInput ? node.Name == input : node.Inputs.Any(i => DependsOn(i, input));

    /// <summary>Nodes the outputs need, inputs before their users.</summary>
    static List<Node> Order(Network network)
    {
        var order = new List<Node>();
        var seen = new HashSet<Node>();
        void Visit(Node n)
        {
            if (!seen.Add(n)) return;
            foreach (var i in n.Inputs) Visit(i);
            order.Add(n);
        }
        foreach (var (_, node) in network.Outputs) Visit(node);
        return order;
    }

    static ValueInfoProto ValueInfo(string name, Shape? shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float };
        if (shape != null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in shape.ToArray()) tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    /// <summary>Adds nodes and initializers to the graph being written.</summary>
    sealed class Writer
    {
        readonly GraphProto graph;
        readonly IReadOnlyDictionary<string, float[]> parameters;

        public Writer(GraphProto graph, IReadOnlyDictionary<string, float[]> parameters)
        {
            this.graph = graph;
            this.parameters = parameters;
        }

        public NodeProto Op(string type, string name, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var n = new NodeProto { OpType = type, Name = name };
            n.Input.Add(inputs);
            n.Output.Add(output);
            n.Attribute.Add(attributes);
            graph.Node.Add(n);
            return n;
        }

        /// <summary>The initializer of a Kiln parameter ("node.param"), returned by name.</summary>
        public string Param(Node node, string param, params long[] dims)
        {
            var name = $"{node.Name}.{param}";
            if (!parameters.TryGetValue(name, out var values)) throw new KilnException($"export: no value for parameter '{name}'.");
            if (dims.Aggregate(1L, (a, b) => a * b) != values.Length) throw new KilnException($"export: parameter '{name}' has {values.Length} values, [{string.Join(",", dims)}] expected.");
            return Initializer(name, dims, values);
        }

        public string Initializer(string name, long[] dims, float[] values)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.Add(dims);
            var bytes = new byte[4 * values.Length];
            for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
            t.RawData = ByteString.CopyFrom(bytes);
            graph.Initializer.Add(t);
            return name;
        }

        public string Ints(string name, params long[] values)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.Add(values);
            graph.Initializer.Add(t);
            return name;
        }

        public string Scalar(string name, float value) => Initializer(name, Array.Empty<long>(), new[] { value });
    }

    static AttributeProto Attr(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    static AttributeProto Attr(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    static AttributeProto Attr(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    static AttributeProto Attr(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        return a;
    }
}
