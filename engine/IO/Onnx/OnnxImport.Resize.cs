using Onnx;

namespace Kiln.IO;

// Resize, Upsample and BatchNormalization: ops whose ONNX form has several variants to check.
internal sealed partial class OnnxImport
{
    OnnxValue?[] Resize(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        if (Int(n, "antialias", 0) != 0) throw NotSupported(n, "antialias");
        if (Attr(n, "axes") != null) throw NotSupported(n, "the axes attribute");
        double[] scales;
        // Opset 10: (X, scales); 11+: (X, roi, scales, sizes) with exactly one of scales and sizes.
        var scalesValue = opset < 11 ? (i.Length > 1 ? i[1] : null) : (i.Length > 2 ? i[2] : null);
        var sizesValue = opset >= 11 && i.Length > 3 ? i[3] : null;
        if (scalesValue != null && Const(scalesValue, n, "scales").Count > 0) scales = scalesValue.Constant!.Values;
        else if (sizesValue != null)
        {
            var sizes = Const(sizesValue, n, "sizes").AsLongs();
            if (sizes.Length != x.Dims.Length) throw new KilnException($"sizes [{string.Join(",", sizes)}] do not match the rank-{x.Dims.Length} input.");
            scales = sizes.Select((s, k) => (double)s / x.Dims[k]).ToArray();
        }
        else throw new KilnException("neither scales nor sizes are given.");
        var coordinates = Str(n, "coordinate_transformation_mode", "half_pixel");
        var mode = Str(n, "mode", "nearest") switch
        {
            // With an integer scale every nearest rounding picks the same source pixel, except align_corners'.
            "nearest" when coordinates is "asymmetric" or "half_pixel" or "pytorch_half_pixel" => UpsampleMode.Nearest,
            "linear" when coordinates is "half_pixel" or "pytorch_half_pixel" => UpsampleMode.Bilinear,
            "linear" when coordinates is "align_corners" => UpsampleMode.BilinearAlignCorners,
            var m => throw NotSupported(n, $"mode '{m}' with coordinate_transformation_mode '{coordinates}' (not supported yet)"),
        };
        return new[] { UpsampleOf(n, x, scales, mode) };
    }

    OnnxValue?[] Upsample(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        var scales = Floats(n, "scales")?.Select(f => (double)f).ToArray()
            ?? (i.Length > 1 ? Const(i[1], n, "scales").Values : throw new KilnException("no scales."));
        var mode = Str(n, "mode", "nearest") switch
        {
            "nearest" => UpsampleMode.Nearest,
            // Upsample's linear mode samples with asymmetric coordinates, which Kiln's bilinear does not.
            var m => throw NotSupported(n, $"Upsample mode '{m}' (not supported yet)"),
        };
        return new[] { UpsampleOf(n, x, scales, mode) };
    }

    OnnxValue UpsampleOf(NodeProto n, OnnxValue x, double[] scales, UpsampleMode mode)
    {
        if (x.Dims.Length != 4 || scales.Length != 4) throw NotSupported(n, $"resizing a rank-{x.Dims.Length} tensor (Kiln resizes [N, C, H, W])");
        if (scales[0] != 1 || scales[1] != 1 || scales[2] != scales[3] || scales[2] < 1 || scales[2] != Math.Floor(scales[2]))
            throw NotSupported(n, $"scales [{string.Join(",", scales)}] (Kiln upsamples H and W by one integer factor)");
        return AddLayer(n, new Kiln.Upsample((int)scales[2], mode), new[] { AsNode(x, n) });
    }

    OnnxValue?[] BatchNormalization(NodeProto n, OnnxValue?[] i)
    {
        var x = Graph(i[0], n, "the input");
        if (Int(n, "training_mode", 0) != 0) throw NotSupported(n, "BatchNormalization in training mode");
        if (x.Dims.Length != 4) throw NotSupported(n, $"BatchNormalization of a rank-{x.Dims.Length} tensor (Kiln normalises [N, C, H, W])");
        if (i.Length < 5) throw new KilnException("needs scale, B, mean and var inputs.");
        var (scale, bias, mean, variance) = (Const(i[1], n, "scale"), Const(i[2], n, "B"), Const(i[3], n, "mean"), Const(i[4], n, "var"));
        int c = ToInt(x.Dims[1], "channels");
        foreach (var (t, what) in new[] { (scale, "scale"), (bias, "B"), (mean, "mean"), (variance, "var") })
            if (t.Count != c) throw new KilnException($"{what} {t.ShapeText} does not have one value per channel ({c}).");
        // Inference behaviour in every step, gradient steps included: the running statistics normalise and stay constant.
        var v = AddLayer(n, new BatchNorm2d(c, Float(n, "epsilon", 1e-5f), useRunningStatistics: true), new[] { AsNode(x, n) });
        BindParameter(v, "weight", i[1]!, scale.AsFloats());
        BindParameter(v, "bias", i[2]!, bias.AsFloats());
        BindParameter(v, "running_mean", i[3]!, mean.AsFloats(), trainable: false);
        BindParameter(v, "running_var", i[4]!, variance.AsFloats(), trainable: false);
        return new[] { v };
    }
}
