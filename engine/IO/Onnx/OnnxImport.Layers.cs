using Onnx;

namespace Kiln.IO;

// Ops that become Kiln layers (constants among their inputs become parameters or Constant layers).
internal sealed partial class OnnxImport
{
    void RegisterLayerOps()
    {
        ops["Conv"] = Conv;
        ops["ConvTranspose"] = ConvTranspose;
        ops["Gemm"] = Gemm;
        ops["MatMul"] = MatMul;
        ops["Add"] = (n, i) => Binary(n, i, () => new Add(), (a, b) => a + b);
        ops["Sub"] = (n, i) => Binary(n, i, () => new Sub(), (a, b) => a - b);
        ops["Mul"] = (n, i) => Binary(n, i, () => new Mul(), (a, b) => a * b);
        ops["Div"] = (n, i) => Binary(n, i, () => new Div(), (a, b) => a / b);
        ops["Relu"] = (n, i) => Unary(n, i, new ReLU());
        ops["LeakyRelu"] = (n, i) => Unary(n, i, new LeakyReLU(Float(n, "alpha", 0.01f)));
        ops["Sigmoid"] = (n, i) => Unary(n, i, new Sigmoid());
        ops["Tanh"] = (n, i) => Unary(n, i, new Tanh());
        ops["Erf"] = (n, _) => throw NotSupported(n, "Erf outside the GELU pattern x * 0.5 * (1 + erf(x / sqrt(2)))");
        ops["Softmax"] = Softmax;
        ops["MaxPool"] = (n, i) => Pool(n, i, (k, s) => new MaxPool2d(k, s));
        ops["AveragePool"] = (n, i) => Pool(n, i, (k, s) => new AvgPool2d(k, s));
        ops["GlobalAveragePool"] = (n, i) => Unary(n, i, new GlobalAvgPool2d());
        ops["Resize"] = Resize;
        ops["Upsample"] = Upsample;
        ops["Concat"] = Concat;
        ops["Flatten"] = Flatten;
        ops["Reshape"] = Reshape;
        ops["Pad"] = Pad;
        ops["BatchNormalization"] = BatchNormalization;
        ops["Clip"] = Clip;
        // Inference behaviour: Dropout passes its input through.
        ops["Dropout"] = (n, i) =>
        {
            if (i.Length > 2 && i[2]?.Constant is { } training && training.Values.Any(v => v != 0))
                throw NotSupported(n, "Dropout in training mode");
            return new[] { Graph(i[0], n, "the input") };
        };
        ops["Identity"] = (n, i) => new[] { Graph(i[0], n, "the input") };
    }

    OnnxValue?[] Unary(NodeProto n, OnnxValue?[] i, Layer layer)
    {
        var x = Graph(i[0], n, "the input");
        return new[] { AddLayer(n, layer, new[] { AsNode(x, n) }) };
    }

    OnnxValue?[] Binary(NodeProto n, OnnxValue?[] i, Func<Layer> make, Func<double, double, double> fold)
    {
        var a = Graph(i[0], n, "input A");
        var b = Graph(i[1], n, "input B");
        if (a.IsConstant && b.IsConstant) return new[] { OnnxValue.Const(OnnxFolding.Broadcast(a.Constant!, b.Constant!, fold)) };
        return new[] { AddLayer(n, make(), new[] { AsNode(a, n), AsNode(b, n) }) };
    }

    (int H, int W) Pair(NodeProto n, string name, long[]? v, int fallback)
    {
        if (v == null) return (fallback, fallback);
        if (v.Length != 2) throw NotSupported(n, $"{name} [{string.Join(",", v)}] (Kiln imports 2-D ops only)");
        return (ToInt(v[0], name), ToInt(v[1], name));
    }

    (int H, int W) SymmetricPads(NodeProto n)
    {
        var autoPad = Str(n, "auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID")) throw NotSupported(n, $"auto_pad {autoPad}");
        var pads = Ints(n, "pads") ?? new long[4];
        if (pads.Length != 4) throw NotSupported(n, $"pads [{string.Join(",", pads)}] (Kiln imports 2-D ops only)");
        if (pads[0] != pads[2] || pads[1] != pads[3]) throw NotSupported(n, $"asymmetric padding [{string.Join(",", pads)}]");
        return (ToInt(pads[0], "pad"), ToInt(pads[1], "pad"));
    }

    OnnxValue?[] Conv(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        var w = Const(i[1], n, "the weight");
        if (w.Rank != 4) throw NotSupported(n, $"a weight of shape {w.ShapeText} (Kiln imports 2-D convolutions only)");
        var b = i.Length > 2 && i[2] != null ? Const(i[2], n, "the bias") : null;
        int groups = ToInt(Int(n, "group", 1), "group");
        int cout = ToInt(w.Dims[0], "channels"), cin = ToInt(w.Dims[1] * groups, "channels");
        var kernel = Pair(n, "kernel_shape", Ints(n, "kernel_shape") ?? w.Dims[2..], 1);
        if (kernel != ((int)w.Dims[2], (int)w.Dims[3])) throw new KilnException($"kernel_shape {kernel} does not match the weight {w.ShapeText}.");
        var layer = new Conv2d(cin, cout, kernel, Pair(n, "strides", Ints(n, "strides"), 1), SymmetricPads(n), Pair(n, "dilations", Ints(n, "dilations"), 1), groups, b != null);
        var v = AddLayer(n, layer, new[] { AsNode(x, n) });
        BindParameter(v, "weight", i[1]!, w.AsFloats());
        if (b != null) BindParameter(v, "bias", i[2]!, CheckBias(b, cout));
        return new[] { v };
    }

    static float[] CheckBias(OnnxTensor b, int count) =>
        b.Count == count ? b.AsFloats() : throw new KilnException($"the bias {b.ShapeText} does not have the {count} values the layer needs.");

    OnnxValue?[] ConvTranspose(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        var w = Const(i[1], n, "the weight");
        if (w.Rank != 4) throw NotSupported(n, $"a weight of shape {w.ShapeText} (Kiln imports 2-D transposed convolutions only)");
        if (Attr(n, "output_shape") != null) throw NotSupported(n, "the output_shape attribute (give pads and output_padding)");
        var b = i.Length > 2 && i[2] != null ? Const(i[2], n, "the bias") : null;
        int groups = ToInt(Int(n, "group", 1), "group");
        int cin = ToInt(w.Dims[0], "channels"), cout = ToInt(w.Dims[1] * groups, "channels");
        var kernel = Pair(n, "kernel_shape", Ints(n, "kernel_shape") ?? w.Dims[2..], 1);
        var layer = new ConvTranspose2d(cin, cout, kernel, Pair(n, "strides", Ints(n, "strides"), 1), SymmetricPads(n),
            Pair(n, "output_padding", Ints(n, "output_padding"), 0), groups, b != null, Pair(n, "dilations", Ints(n, "dilations"), 1));
        var v = AddLayer(n, layer, new[] { AsNode(x, n) });
        BindParameter(v, "weight", i[1]!, w.AsFloats());
        if (b != null) BindParameter(v, "bias", i[2]!, CheckBias(b, cout));
        return new[] { v };
    }

    OnnxValue?[] Gemm(NodeProto n, OnnxValue?[] i)
    {
        var a = Graph(i[0], n, "input A");
        var b = Graph(i[1], n, "input B");
        if (Int(n, "transA", 0) != 0) throw NotSupported(n, "transA=1");
        if (Float(n, "alpha", 1f) != 1f || Float(n, "beta", 1f) != 1f) throw NotSupported(n, "alpha or beta other than 1");
        var cValue = i.Length > 2 ? i[2] : null;
        bool transB = Int(n, "transB", 0) != 0;
        if (b.IsConstant && (cValue == null || cValue.IsConstant) && (cValue?.Constant is not { } c0 || c0.Count == b.Constant!.Dims[transB ? 0 : 1]))
            return new[] { LinearOf(n, a, b, transposed: !transB, cValue?.Constant, cValue) };
        // A computed B (or a bias that is not one value per feature): MatMul, then a broadcasting Add.
        var bNode = AsNode(b, n);
        if (transB) bNode = AddLayer(n, new Transpose(1, 0), new[] { bNode }, "/transpose_b").Node!;
        var product = AddLayer(n, new Kiln.MatMul(), new[] { AsNode(a, n), bNode }, cValue == null ? null : "/matmul");
        return new[] { cValue == null ? product : AddLayer(n, new Add(), new[] { product.Node!, AsNode(cValue, n) }) };
    }

    OnnxValue?[] MatMul(NodeProto n, OnnxValue?[] i)
    {
        var a = Graph(i[0], n, "input A");
        var b = Graph(i[1], n, "input B");
        if (a.IsConstant && b.IsConstant) throw NotSupported(n, "MatMul of two constants");
        // The common case, an activation [N, K] times a constant [K, M], runs as a Linear.
        if (b.Constant is { Rank: 2 } && a.Dims.Length == 2) return new[] { LinearOf(n, a, b, transposed: true, null, null) };
        if (b.Constant is { } w)
        {
            var v = AddLayer(n, new Kiln.MatMul(w.ToShape()), new[] { AsNode(a, n) });
            BindParameter(v, "weight", b, w.AsFloats());
            return new[] { v };
        }
        return new[] { AddLayer(n, new Kiln.MatMul(), new[] { AsNode(a, n), AsNode(b, n) }) };
    }

    /// <summary>x B (+ c) as a Linear; Kiln keeps the weight [out, in], so a [in, out] B is transposed at import.</summary>
    OnnxValue LinearOf(NodeProto n, OnnxValue x, OnnxValue bValue, bool transposed, OnnxTensor? c, OnnxValue? cValue)
    {
        var b = bValue.Constant!;
        if (b.Rank != 2) throw NotSupported(n, $"a weight of shape {b.ShapeText}");
        int outF = ToInt(transposed ? b.Dims[1] : b.Dims[0], "features"), inF = ToInt(transposed ? b.Dims[0] : b.Dims[1], "features");
        if (c != null && (c.Count != outF || c.Dims.Count(d => d != 1) > 1))
            throw NotSupported(n, $"a bias of shape {c.ShapeText} (Kiln adds one value per output feature, {outF})");
        var v = AddLayer(n, new Linear(inF, outF, c != null), new[] { AsNode(x, n) });
        var w = b.AsFloats();
        if (transposed)
        {
            BindParameter(v, "weight", bValue, Transpose(w, inF, outF), gradient: grad => Transpose(grad($"{v.Node!.Name}.weight"), outF, inF));
        }
        else BindParameter(v, "weight", bValue, w);
        if (c != null) BindParameter(v, "bias", cValue!, c.AsFloats());
        return v;
    }

    /// <summary>A [rows, cols] row-major matrix transposed.</summary>
    static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        return t;
    }

    OnnxValue?[] Softmax(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        int rank = x.Dims.Length;
        long axis = Int(n, "axis", opset < 13 ? 1 : -1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) throw new KilnException($"axis {Int(n, "axis", 0)} is outside rank {rank}.");
        // Before opset 13 the axis splits the tensor in two and the softmax runs over all dimensions from it on:
        // one axis only when it is the last.
        if (opset < 13 && axis != rank - 1)
            throw NotSupported(n, $"Softmax over dimensions {axis}..{rank - 1} of a rank-{rank} tensor at opset {opset} (the softmax of opsets before 13 over several axes)");
        return Unary(n, i, new Softmax((int)axis));
    }

    OnnxValue?[] Pool(NodeProto n, OnnxValue?[] i, Func<(int, int), (int, int), Layer> make)
    {
        var kernel = Pair(n, "kernel_shape", Ints(n, "kernel_shape") ?? throw new KilnException("no kernel_shape."), 1);
        if (SymmetricPads(n) != (0, 0)) throw NotSupported(n, "padding in pooling");
        if (Int(n, "ceil_mode", 0) != 0) throw NotSupported(n, "ceil_mode=1");
        if (Pair(n, "dilations", Ints(n, "dilations"), 1) != (1, 1)) throw NotSupported(n, "dilated pooling");
        if (Int(n, "storage_order", 0) != 0) throw NotSupported(n, "storage_order=1");
        return Unary(n, i, make(kernel, Pair(n, "strides", Ints(n, "strides"), 1)));
    }

    OnnxValue?[] Concat(NodeProto n, OnnxValue?[] i)
    {
        var parts = i.Select((v, k) => Graph(v, n, $"input {k}")).ToArray();
        long axis = Int(n, "axis", 1);
        if (parts.All(p => p.IsConstant)) return new[] { OnnxValue.Const(OnnxFolding.Concat(parts.Select(p => p.Constant!).ToArray(), axis)) };
        int rank = parts[0].Dims.Length;
        if (axis < 0) axis += rank;
        if (axis != 1) throw NotSupported(n, $"Concat along axis {axis} of rank-{rank} tensors (Kiln joins along dim 1)");
        if (parts.Length == 1) return new[] { parts[0] };
        return new[] { AddLayer(n, new Kiln.Concat(), parts.Select(p => AsNode(p, n)).ToArray()) };
    }

    OnnxValue?[] Flatten(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        long axis = Int(n, "axis", 1);
        int rank = x.Dims.Length;
        if (axis < 0) axis += rank;
        if (x.IsConstant) return new[] { OnnxValue.Const(OnnxFolding.Flatten(x.Constant!, axis)) };
        if (axis != 1) throw NotSupported(n, $"Flatten at axis {axis} (Kiln flattens from dim 1)");
        return Unary(n, i, new Kiln.Flatten());
    }

    OnnxValue?[] Reshape(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the data");
        var target = OnnxFolding.ReshapeTarget(x.Dims, Const(i[1], n, "the target shape").AsLongs(), Int(n, "allowzero", 0) != 0);
        if (x.IsConstant) return new[] { OnnxValue.Const(new OnnxTensor(target, x.Constant!.Values, x.Constant.IsInteger)) };
        if (target.Length == 0 || target[0] != x.Dims[0]) throw NotSupported(n, $"a Reshape of [{string.Join(",", x.Dims)}] to [{string.Join(",", target)}] that changes the batch dimension");
        if (target.Length == 1) throw NotSupported(n, $"a Reshape to [{target[0]}] (Kiln keeps at least one dimension after the batch)");
        return Unary(n, i, new Kiln.Reshape(target[1..].Select(d => ToInt(d, "dimension")).ToArray()));
    }

    OnnxValue?[] Pad(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        var mode = Str(n, "mode", "constant");
        long[] pads;
        double value;
        if (opset < 11)
        {
            pads = Ints(n, "pads") ?? throw new KilnException("no pads.");
            value = Float(n, "value", 0f);
        }
        else
        {
            pads = Const(i[1], n, "the pads").AsLongs();
            value = i.Length > 2 && i[2] != null ? Const(i[2], n, "the constant value").ScalarValue("the constant value") : 0;
            if (i.Length > 3 && i[3] != null) throw NotSupported(n, "the axes input");
        }
        int rank = x.Dims.Length;
        if (rank != 4 || pads.Length != 8) throw NotSupported(n, $"padding a rank-{rank} tensor (Kiln pads [N, C, H, W])");
        if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) throw NotSupported(n, $"padding the batch or channel dimension (pads [{string.Join(",", pads)}])");
        if (pads.Any(p => p < 0)) throw NotSupported(n, $"negative pads [{string.Join(",", pads)}]");
        var padMode = mode switch
        {
            "constant" when value == 0 => PadMode.Zero,
            "constant" => throw NotSupported(n, $"padding with the value {value} (Kiln pads with zeros)"),
            "edge" => PadMode.Replicate,
            _ => throw NotSupported(n, $"pad mode '{mode}'"),
        };
        return Unary(n, i, new Kiln.Pad(ToInt(pads[3], "pad"), ToInt(pads[7], "pad"), ToInt(pads[2], "pad"), ToInt(pads[6], "pad"), padMode));
    }

    OnnxValue?[] Clip(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        float min, max;
        if (opset < 11)
        {
            min = Float(n, "min", float.NegativeInfinity);
            max = Float(n, "max", float.PositiveInfinity);
        }
        else
        {
            min = i.Length > 1 && i[1] != null ? (float)Const(i[1], n, "min").ScalarValue("min") : float.NegativeInfinity;
            max = i.Length > 2 && i[2] != null ? (float)Const(i[2], n, "max").ScalarValue("max") : float.PositiveInfinity;
        }
        if (x.IsConstant) return new[] { OnnxValue.Const(OnnxFolding.Map(x.Constant!, v => Math.Min(Math.Max(v, min), max))) };
        return Unary(n, i, new Kiln.Clip(min, max));
    }
}
