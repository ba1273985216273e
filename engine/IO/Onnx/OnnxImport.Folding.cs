using Onnx;

namespace Kiln.IO;

// Shape arithmetic and constants, evaluated at import with the concrete input shapes.
internal sealed partial class OnnxImport
{
    void RegisterFoldingOps()
    {
        ops["Constant"] = ConstantOp;
        ops["Shape"] = (n, i) =>
        {
            var dims = Graph(i[0], n, "the input").Dims;
            long start = Int(n, "start", 0), end = Int(n, "end", dims.Length);
            if (start < 0) start += dims.Length;
            if (end < 0) end += dims.Length;
            start = Math.Clamp(start, 0, dims.Length);
            end = Math.Clamp(end, start, dims.Length);
            return Folded(OnnxTensor.Vector(dims[(int)start..(int)end]));
        };
        ops["Gather"] = (n, i) => Folded(OnnxFolding.Gather(Const(i[0], n, "the data"), Const(i[1], n, "the indices"), Int(n, "axis", 0)));
        ops["Cast"] = Cast;
        ops["Slice"] = (n, i) =>
        {
            var data = Const(i[0], n, "the data");
            if (opset < 10) return Folded(OnnxFolding.Slice(data, Ints(n, "starts") ?? Array.Empty<long>(), Ints(n, "ends") ?? Array.Empty<long>(), Ints(n, "axes"), null));
            long[]? Optional(int k, string what) => i.Length > k && i[k] != null ? Const(i[k], n, what).AsLongs() : null;
            return Folded(OnnxFolding.Slice(data, Const(i[1], n, "starts").AsLongs(), Const(i[2], n, "ends").AsLongs(), Optional(3, "axes"), Optional(4, "steps")));
        };
        ops["Unsqueeze"] = (n, i) =>
        {
            var data = Const(i[0], n, "the data");
            var axes = opset < 13 ? Ints(n, "axes") ?? throw new KilnException("no axes.") : Const(i.Length > 1 ? i[1] : null, n, "the axes").AsLongs();
            return Folded(new OnnxTensor(OnnxFolding.Unsqueeze(data.Dims, axes), data.Values, data.IsInteger));
        };
        ops["Squeeze"] = (n, i) =>
        {
            var data = Const(i[0], n, "the data");
            var axes = opset < 13 ? Ints(n, "axes") : i.Length > 1 && i[1] != null ? Const(i[1], n, "the axes").AsLongs() : null;
            return Folded(new OnnxTensor(OnnxFolding.Squeeze(data.Dims, axes), data.Values, data.IsInteger));
        };
        ops["ConstantOfShape"] = (n, i) =>
        {
            var dims = Const(i[0], n, "the shape").AsLongs();
            var value = Attr(n, "value") is { T: { } t } ? OnnxTensorReader.Read(t, folder, where) : OnnxTensor.Scalar(0, false);
            return Folded(OnnxFolding.Filled(dims, value.ScalarValue("the value"), value.IsInteger));
        };
        ops["Transpose"] = (n, i) =>
        {
            var x = Graph(i[0], n, "the input");
            if (x.IsConstant) return Folded(OnnxFolding.Transpose(x.Constant!, Ints(n, "perm")));
            var perm = Ints(n, "perm") ?? Enumerable.Range(0, x.Dims.Length).Reverse().Select(p => (long)p).ToArray();
            return Unary(n, i, new Kiln.Transpose(perm.Select(p => ToInt(p, "perm")).ToArray()));
        };
    }

    static OnnxValue?[] Folded(OnnxTensor t) => new[] { OnnxValue.Const(t) };

    OnnxValue?[] ConstantOp(NodeProto n, OnnxValue?[] _)
    {
        if (n.Attribute.Count != 1) throw new KilnException("a Constant needs exactly one value attribute.");
        var a = n.Attribute[0];
        return a.Name switch
        {
            "value" => Folded(OnnxTensorReader.Read(a.T ?? throw new KilnException("value is not a tensor."), folder, where)),
            "value_float" => Folded(OnnxTensor.Scalar(a.F, false)),
            "value_floats" => Folded(new OnnxTensor(new[] { (long)a.Floats.Count }, a.Floats.Select(f => (double)f).ToArray(), false)),
            "value_int" => Folded(OnnxTensor.Scalar(a.I, true)),
            "value_ints" => Folded(OnnxTensor.Vector(a.Ints)),
            _ => throw NotSupported(n, $"a Constant given by '{a.Name}'"),
        };
    }

    OnnxValue?[] Cast(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        var to = (TensorProto.Types.DataType)Int(n, "to", 0);
        bool toFloat = to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16;
        if (x.IsConstant)
            return Folded(toFloat ? new OnnxTensor(x.Constant!.Dims, x.Constant.Values, false)
                : OnnxFolding.Map(new OnnxTensor(x.Constant!.Dims, x.Constant.Values, true), v => to == TensorProto.Types.DataType.Bool ? (v != 0 ? 1 : 0) : Math.Truncate(v)));
        if (to == TensorProto.Types.DataType.Float) return new[] { x };
        throw NotSupported(n, $"a Cast of a computed tensor to {to} (Kiln computes in f32)");
    }
}
