using Kiln.IO;
using Kiln.Tests.Reference;
using NUnit.Framework;
using static Kiln.Tests.Onnx.OnnxTestModels;

namespace Kiln.Tests.Onnx;

/// <summary>Hand-built models against double-precision references computed here.</summary>
public sealed class OnnxImportTests : GpuTest
{
    static readonly float[] X = { 0.5f, -1f, 2f, 0.25f, 1.5f, -0.75f };

    /// <summary>y = x W (+ b) with W [3, 4] stored [in, out] (Gemm transB=0): Kiln transposes it at import and back for its gradient.</summary>
    [Test]
    public void GemmWithUntransposedWeight_ForwardAndGradientsInTheOnnxLayout()
    {
        var m = Gemm(out _, out var b);
        var w = Enumerable.Range(0, 12).Select(i => (i * 7 % 11 - 5) * 0.1f).ToArray(); // [3, 4]
        m.Graph.Initializer[0] = Floats("W", new long[] { 3, 4 }, w);
        m.Graph.Node[0].Attribute.Clear();
        m.Graph.Node[1] = Node("Identity", "same", new[] { "h" }, new[] { "y" });
        var dir = OnnxFixtures.TempFolder();
        try
        {
            var model = OnnxImporter.Load(Save(m, dir));
            var t = new float[] { 0.1f, 0.2f, -0.3f, 0.4f, 0f, 1f, -1f, 0.5f };
            using var net = model.CompileGradients(Context, new MseLoss());
            net.SetInput("x", X);
            net.SetInput(OnnxModel.TargetInput, t);
            net.Run();

            var y = new double[8];
            for (int n = 0; n < 2; n++)
                for (int o = 0; o < 4; o++)
                {
                    y[n * 4 + o] = b[o];
                    for (int i = 0; i < 3; i++) y[n * 4 + o] += X[n * 3 + i] * (double)w[i * 4 + o];
                }
            var dy = y.Select((v, k) => 2 * (v - t[k]) / 8).ToArray();
            var dw = new double[12];
            var dx = new double[6];
            for (int n = 0; n < 2; n++)
                for (int i = 0; i < 3; i++)
                    for (int o = 0; o < 4; o++)
                    {
                        dw[i * 4 + o] += X[n * 3 + i] * dy[n * 4 + o];
                        dx[n * 3 + i] += w[i * 4 + o] * dy[n * 4 + o];
                    }
            var db = Enumerable.Range(0, 4).Select(o => dy[o] + dy[4 + o]).ToArray();
            var loss = y.Select((v, k) => (v - t[k]) * (v - t[k])).Sum() / 8;

            var grads = model.ParameterGradients(net);
            Assert.That(RelativeError.MaxRelative(net.GetOutput("loss")[0], loss), Is.LessThan(Tolerances.Forward), "loss");
            Assert.That(RelativeError.MaxRelative(grads["W"], dw), Is.LessThan(Tolerances.Gradient), "W, in its [3, 4] layout");
            Assert.That(RelativeError.MaxRelative(grads["b"], db), Is.LessThan(Tolerances.Gradient), "b");
            Assert.That(RelativeError.MaxRelative(net.InputGradients["x"].ToArray(), dx), Is.LessThan(Tolerances.Gradient), "x");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Gemm of two network inputs (transB=1) plus a constant bias: MatMul of x and the transposed w, then a broadcasting Add.</summary>
    [Test]
    public void GemmOfTwoInputs_MatchesTheProduct()
    {
        var m = Model();
        m.Graph.Input.Add(Value("x", 2, 3));
        m.Graph.Input.Add(Value("w", 4, 3));
        m.Graph.Output.Add(Value("y", 2, 4));
        var bias = new[] { 0.5f, -1f, 0.25f, 2f };
        m.Graph.Initializer.Add(Floats("c", new long[] { 4 }, bias));
        m.Graph.Node.Add(Node("Gemm", "gemm", new[] { "x", "w", "c" }, new[] { "y" }, Int("transB", 1)));
        var dir = OnnxFixtures.TempFolder();
        try
        {
            var model = OnnxImporter.Load(Save(m, dir));
            using var net = model.Compile(Context);
            var w = Enumerable.Range(0, 12).Select(i => (i % 7 - 3) * 0.3f).ToArray();
            net.SetInput("x", X);
            net.SetInput("w", w);
            net.Run();
            var expected = new double[8];
            for (int n = 0; n < 2; n++)
                for (int o = 0; o < 4; o++)
                    expected[n * 4 + o] = bias[o] + Enumerable.Range(0, 3).Sum(i => (double)X[n * 3 + i] * w[o * 3 + i]);
            Assert.That(RelativeError.MaxRelative(net.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Opset-9 forms (Pad and Clip by attributes, Upsample by a scales input) and an opset-13 Resize by sizes.</summary>
    [Test]
    public void OlderOpsetForms_AndResizeBySizes()
    {
        var old = Model(9);
        old.Graph.Input.Add(Value("x", 1, 1, 2, 2));
        old.Graph.Output.Add(Value("y", 1, 1, 8, 8));
        old.Graph.Initializer.Add(Floats("scales", new long[] { 4 }, new[] { 1f, 1f, 2f, 2f }));
        old.Graph.Node.Add(Node("Pad", "pad", new[] { "x" }, new[] { "p" }, new global::Onnx.AttributeProto { Name = "pads", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints, Ints = { 0, 0, 1, 1, 0, 0, 1, 1 } }));
        old.Graph.Node.Add(Node("Upsample", "up", new[] { "p", "scales" }, new[] { "u" }));
        old.Graph.Node.Add(Node("Clip", "clip", new[] { "u" }, new[] { "y" },
            new global::Onnx.AttributeProto { Name = "min", Type = global::Onnx.AttributeProto.Types.AttributeType.Float, F = 0.2f },
            new global::Onnx.AttributeProto { Name = "max", Type = global::Onnx.AttributeProto.Types.AttributeType.Float, F = 0.8f }));
        var sized = Model(13);
        sized.Graph.Input.Add(Value("x", 1, 1, 2, 2));
        sized.Graph.Output.Add(Value("y", 1, 1, 6, 6));
        sized.Graph.Initializer.Add(new global::Onnx.TensorProto { Name = "sizes", DataType = (int)global::Onnx.TensorProto.Types.DataType.Int64, Dims = { 4 }, Int64Data = { 1, 1, 6, 6 } });
        sized.Graph.Node.Add(Node("Resize", "resize", new[] { "x", "", "", "sizes" }, new[] { "y" },
            new global::Onnx.AttributeProto { Name = "mode", Type = global::Onnx.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("nearest") }));
        float[] x = { 0.1f, 0.5f, 0.9f, 0.3f };
        var dir = OnnxFixtures.TempFolder();
        try
        {
            using (var net = OnnxImporter.Load(Save(old, dir, "old.onnx")).Compile(Context))
            {
                net.SetInput("x", x);
                net.Run();
                var y = net.GetOutput("y");
                var expected = new float[64];
                for (int r = 0; r < 8; r++)
                    for (int c = 0; c < 8; c++)
                    {
                        int pr = r / 2 - 1, pc = c / 2 - 1; // nearest source in the padded 4x4, minus the border
                        float v = pr is >= 0 and < 2 && pc is >= 0 and < 2 ? x[pr * 2 + pc] : 0f;
                        expected[r * 8 + c] = Math.Clamp(v, 0.2f, 0.8f);
                    }
                Assert.That(y, Is.EqualTo(expected), "pad, upsample, clip");
            }
            using (var net = OnnxImporter.Load(Save(sized, dir, "sized.onnx")).Compile(Context))
            {
                net.SetInput("x", x);
                net.Run();
                var expected = Enumerable.Range(0, 36).Select(i => x[i / 6 / 3 * 2 + i % 6 / 3]).ToArray();
                Assert.That(net.GetOutput("y"), Is.EqualTo(expected), "resize by sizes");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Dropout in inference behaviour (its mask output unused), shape arithmetic folded at import (Shape, Gather, Unsqueeze, Concat, Reshape) and an output that is a view.</summary>
    [Test]
    public void DropoutFoldedShapeArithmetic_AndAViewAsTheOutput()
    {
        var m = Model(13);
        m.Graph.Input.Add(Value("x", 2, 3, 1, 2));
        m.Graph.Output.Add(Value("y", 2, 6));
        m.Graph.Initializer.Add(new global::Onnx.TensorProto { Name = "zero", DataType = (int)global::Onnx.TensorProto.Types.DataType.Int64, Int64Data = { 0 } });
        m.Graph.Initializer.Add(new global::Onnx.TensorProto { Name = "minus1", DataType = (int)global::Onnx.TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { -1 } });
        m.Graph.Initializer.Add(new global::Onnx.TensorProto { Name = "axes0", DataType = (int)global::Onnx.TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { 0 } });
        m.Graph.Node.Add(Node("Relu", "relu", new[] { "x" }, new[] { "r0" }));
        m.Graph.Node.Add(Node("Dropout", "drop", new[] { "r0" }, new[] { "r", "mask" }));
        m.Graph.Node.Add(Node("Shape", "shape", new[] { "r" }, new[] { "s" }));
        m.Graph.Node.Add(Node("Gather", "batch", new[] { "s", "zero" }, new[] { "n" }));
        m.Graph.Node.Add(Node("Unsqueeze", "n1", new[] { "n", "axes0" }, new[] { "n_1" }));
        m.Graph.Node.Add(Node("Concat", "target", new[] { "n_1", "minus1" }, new[] { "shape2" }, Int("axis", 0)));
        m.Graph.Node.Add(Node("Reshape", "view", new[] { "r", "shape2" }, new[] { "y" }));
        var dir = OnnxFixtures.TempFolder();
        try
        {
            var model = OnnxImporter.Load(Save(m, dir));
            Assert.That(model.OutputShapes["y"], Is.EqualTo(new Shape(2, 6)));
            using var net = model.Compile(Context);
            var x = X.Concat(X.Select(v => -v)).ToArray();
            net.SetInput("x", x);
            net.Run();
            Assert.That(net.GetOutput("y"), Is.EqualTo(x.Select(v => Math.Max(v, 0f)).ToArray()));
        }
        finally { Directory.Delete(dir, true); }
    }
}
