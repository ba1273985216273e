using Onnx;

namespace Kiln.IO;

// The exporter's table: one entry per layer type, writing its ONNX nodes (opset 17).
public static partial class OnnxExporter
{
    static readonly Dictionary<Type, Action<Writer, Node>> Table = new()
    {
        [typeof(Linear)] = (w, n) =>
        {
            var l = (Linear)n.Layer!;
            var inputs = new List<string> { In(n, 0), w.Param(n, "weight", l.OutFeatures, l.InFeatures) };
            if (l.HasBias) inputs.Add(w.Param(n, "bias", l.OutFeatures));
            w.Op("Gemm", n.Name, inputs.ToArray(), n.Name, Attr("transB", 1L));
        },
        [typeof(Conv2d)] = (w, n) => Conv(w, n, ((Conv2d)n.Layer!).Attributes, transposed: false),
        [typeof(ConvTranspose2d)] = (w, n) => Conv(w, n, ((ConvTranspose2d)n.Layer!).Attributes, transposed: true),
        [typeof(ReLU)] = (w, n) => w.Op("Relu", n.Name, new[] { In(n, 0) }, n.Name),
        [typeof(LeakyReLU)] = (w, n) => w.Op("LeakyRelu", n.Name, new[] { In(n, 0) }, n.Name, Attr("alpha", ((LeakyReLU)n.Layer!).Slope)),
        [typeof(Sigmoid)] = (w, n) => w.Op("Sigmoid", n.Name, new[] { In(n, 0) }, n.Name),
        [typeof(Tanh)] = (w, n) => w.Op("Tanh", n.Name, new[] { In(n, 0) }, n.Name),
        [typeof(Add)] = (w, n) => w.Op("Add", n.Name, new[] { In(n, 0), In(n, 1) }, n.Name),
        [typeof(Sub)] = (w, n) => w.Op("Sub", n.Name, new[] { In(n, 0), In(n, 1) }, n.Name),
        [typeof(Mul)] = (w, n) => w.Op("Mul", n.Name, new[] { In(n, 0), In(n, 1) }, n.Name),
        [typeof(Div)] = (w, n) => w.Op("Div", n.Name, new[] { In(n, 0), In(n, 1) }, n.Name),
        [typeof(Softmax)] = (w, n) => w.Op("Softmax", n.Name, new[] { In(n, 0) }, n.Name, Attr("axis", (long)((Softmax)n.Layer!).Axis)),
        [typeof(MatMul)] = (w, n) =>
        {
            var m = (MatMul)n.Layer!;
            var b = m.WeightShape is { } shape ? w.Param(n, "weight", shape.ToArray().Select(d => (long)d).ToArray()) : In(n, 1);
            w.Op("MatMul", n.Name, new[] { In(n, 0), b }, n.Name);
        },
        [typeof(Transpose)] = (w, n) => w.Op("Transpose", n.Name, new[] { In(n, 0) }, n.Name, Attr("perm", ((Transpose)n.Layer!).Permutation.Select(p => (long)p).ToArray())),
        [typeof(MaxPool2d)] = (w, n) => Pool(w, n, "MaxPool", ((MaxPool2d)n.Layer!).KernelSize, ((MaxPool2d)n.Layer!).Stride),
        [typeof(AvgPool2d)] = (w, n) => Pool(w, n, "AveragePool", ((AvgPool2d)n.Layer!).KernelSize, ((AvgPool2d)n.Layer!).Stride),
        [typeof(GlobalAvgPool2d)] = (w, n) => w.Op("GlobalAveragePool", n.Name, new[] { In(n, 0) }, n.Name),
        [typeof(Upsample)] = (w, n) =>
        {
            var u = (Upsample)n.Layer!;
            var scales = w.Initializer($"{n.Name}.scales", new long[] { 4 }, new[] { 1f, 1f, u.Scale, u.Scale });
            var attrs = u.Mode switch
            {
                UpsampleMode.Nearest => new[] { Attr("mode", "nearest"), Attr("coordinate_transformation_mode", "asymmetric"), Attr("nearest_mode", "floor") },
                UpsampleMode.Bilinear => new[] { Attr("mode", "linear"), Attr("coordinate_transformation_mode", "half_pixel") },
                _ => new[] { Attr("mode", "linear"), Attr("coordinate_transformation_mode", "align_corners") },
            };
            w.Op("Resize", n.Name, new[] { In(n, 0), "", scales }, n.Name, attrs);
        },
        [typeof(Concat)] = (w, n) => w.Op("Concat", n.Name, n.Inputs.Select(i => i.Name).ToArray(), n.Name, Attr("axis", 1L)),
        [typeof(Flatten)] = (w, n) => w.Op("Flatten", n.Name, new[] { In(n, 0) }, n.Name, Attr("axis", 1L)),
        [typeof(Reshape)] = (w, n) =>
        {
            // 0 copies the batch dimension, as Kiln's Reshape keeps it.
            var shape = w.Ints($"{n.Name}.shape", new long[] { 0 }.Concat(((Reshape)n.Layer!).Target.Select(d => (long)d)).ToArray());
            w.Op("Reshape", n.Name, new[] { In(n, 0), shape }, n.Name);
        },
        [typeof(Pad)] = (w, n) =>
        {
            var p = (Pad)n.Layer!;
            var pads = w.Ints($"{n.Name}.pads", 0, 0, p.Top, p.Left, 0, 0, p.Bottom, p.Right);
            w.Op("Pad", n.Name, new[] { In(n, 0), pads }, n.Name, Attr("mode", p.Mode == PadMode.Zero ? "constant" : "edge"));
        },
        [typeof(BatchNorm2d)] = (w, n) =>
        {
            var b = (BatchNorm2d)n.Layer!;
            w.Op("BatchNormalization", n.Name, new[] { In(n, 0), w.Param(n, "weight", b.NumFeatures), w.Param(n, "bias", b.NumFeatures),
                w.Param(n, "running_mean", b.NumFeatures), w.Param(n, "running_var", b.NumFeatures) }, n.Name, Attr("epsilon", b.Eps));
        },
        [typeof(Dropout)] = (w, n) => w.Op("Identity", n.Name, new[] { In(n, 0) }, n.Name),
        [typeof(Clip)] = (w, n) =>
        {
            var c = (Clip)n.Layer!;
            w.Op("Clip", n.Name, new[] { In(n, 0), w.Scalar($"{n.Name}.min", Math.Max(c.Min, float.MinValue)), w.Scalar($"{n.Name}.max", Math.Min(c.Max, float.MaxValue)) }, n.Name);
        },
        [typeof(Gelu)] = (w, n) =>
        {
            // Opset 17 has no Gelu: x * 0.5 * (1 + erf(x / sqrt(2))), as PyTorch writes it (and Kiln imports it back).
            var x = In(n, 0);
            w.Op("Div", $"{n.Name}/div", new[] { x, w.Scalar($"{n.Name}.sqrt2", MathF.Sqrt(2)) }, $"{n.Name}/div");
            w.Op("Erf", $"{n.Name}/erf", new[] { $"{n.Name}/div" }, $"{n.Name}/erf");
            w.Op("Add", $"{n.Name}/add", new[] { $"{n.Name}/erf", w.Scalar($"{n.Name}.one", 1f) }, $"{n.Name}/add");
            w.Op("Mul", $"{n.Name}/mul", new[] { x, $"{n.Name}/add" }, $"{n.Name}/mul");
            w.Op("Mul", n.Name, new[] { $"{n.Name}/mul", w.Scalar($"{n.Name}.half", 0.5f) }, n.Name);
        },
        [typeof(Constant)] = (w, n) =>
        {
            var c = (Constant)n.Layer!;
            w.Op("Identity", n.Name, new[] { w.Param(n, "value", c.Shape.ToArray().Select(d => (long)d).ToArray()) }, n.Name);
        },
    };

    static string In(Node n, int i) => n.Inputs[i].Name;

    static void Conv(Writer w, Node n, ConvAttributes a, bool transposed)
    {
        long[] weight = transposed
            ? new long[] { a.InChannels, a.OutChannels / a.Groups, a.Kernel.H, a.Kernel.W }
            : new long[] { a.OutChannels, a.InChannels / a.Groups, a.Kernel.H, a.Kernel.W };
        var inputs = new List<string> { In(n, 0), w.Param(n, "weight", weight) };
        if (a.Bias) inputs.Add(w.Param(n, "bias", a.OutChannels));
        var attrs = new List<AttributeProto>
        {
            Attr("kernel_shape", a.Kernel.H, a.Kernel.W), Attr("strides", a.Stride.H, a.Stride.W),
            Attr("pads", a.Padding.H, a.Padding.W, a.Padding.H, a.Padding.W), Attr("dilations", a.Dilation.H, a.Dilation.W), Attr("group", (long)a.Groups),
        };
        if (transposed) attrs.Add(Attr("output_padding", a.OutputPadding.H, a.OutputPadding.W));
        w.Op(transposed ? "ConvTranspose" : "Conv", n.Name, inputs.ToArray(), n.Name, attrs.ToArray());
    }

    static void Pool(Writer w, Node n, string op, (int H, int W) kernel, (int H, int W) stride) =>
        w.Op(op, n.Name, new[] { In(n, 0) }, n.Name, Attr("kernel_shape", kernel.H, kernel.W), Attr("strides", stride.H, stride.W));
}
