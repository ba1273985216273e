using Google.Protobuf;
using Onnx;

namespace Kiln.Tests.Onnx;

/// <summary>Hand-built ONNX models (through the generated protobuf types) for the error paths and the exporter.</summary>
internal static class OnnxTestModels
{
    public static ModelProto Model(int opset = 17)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "kiln-tests", Graph = new GraphProto { Name = "g" } };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    public static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    public static TensorProto Floats(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(dims);
        var bytes = new byte[4 * values.Length];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        t.RawData = ByteString.CopyFrom(bytes);
        return t;
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.Add(inputs);
        n.Output.Add(outputs);
        n.Attribute.Add(attributes);
        return n;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    /// <summary>y = Gemm(x [2, 3], W [4, 3] transposed, b [4]) then Relu: a model every importer path reads.</summary>
    public static ModelProto Gemm(out float[] w, out float[] b)
    {
        var m = Model();
        w = Enumerable.Range(0, 12).Select(i => (i % 5 - 2) * 0.25f).ToArray();
        b = new[] { 0.1f, -0.2f, 0.3f, 0f };
        m.Graph.Input.Add(Value("x", 2, 3));
        m.Graph.Output.Add(Value("y", 2, 4));
        m.Graph.Initializer.Add(Floats("W", new long[] { 4, 3 }, w));
        m.Graph.Initializer.Add(Floats("b", new long[] { 4 }, b));
        m.Graph.Node.Add(Node("Gemm", "fc", new[] { "x", "W", "b" }, new[] { "h" }, Int("transB", 1)));
        m.Graph.Node.Add(Node("Relu", "act", new[] { "h" }, new[] { "y" }));
        return m;
    }

    public static string Save(ModelProto m, string folder, string name = "model.onnx")
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }
}
