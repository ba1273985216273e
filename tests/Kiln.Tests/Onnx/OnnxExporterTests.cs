using Kiln.IO;
using Kiln.Tests.Reference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;

namespace Kiln.Tests.Onnx;

/// <summary>Kiln networks written as ONNX: ONNX Runtime computes the same outputs, and Kiln imports them back.</summary>
public sealed class OnnxExporterTests : GpuTest
{
    /// <summary>Every layer type the exporter's table holds, in one network with two outputs.</summary>
    static Network Build()
    {
        var net = new Network();
        var x = net.Input("x");
        var c = net.Add(new Conv2d(3, 8, 3, padding: 1), "conv", x);
        var r = net.Add(new ReLU(), "relu", net.Add(new BatchNorm2d(8), "bn", c));
        var p = net.Add(new MaxPool2d(2), "pool", net.Add(new Dropout(0.3f), "drop", r));
        var up = net.Add(new Upsample(2, UpsampleMode.Bilinear), "up_bilinear", p);
        var near = net.Add(new Upsample(2), "up_nearest", p);
        var t = net.Add(new ConvTranspose2d(8, 8, 2, stride: 2), "deconv", p);
        var cat = net.Add(new Concat(), "cat", net.Add(new Add(), "sum", up, near), t);
        var padded = net.Add(new Pad(1, 1, 1, 1, PadMode.Replicate), "pad", net.Add(new Sigmoid(), "sig", cat));
        var a = net.Add(new LeakyReLU(0.2f), "leaky", net.Add(new AvgPool2d(2), "avg", net.Add(new Pad(0, 0, 1, 1), "pad0", padded)));
        var g = net.Add(new GlobalAvgPool2d(), "gap", net.Add(new Clip(-0.3f, 0.45f), "clip", a));
        var l = net.Add(new Linear(16, 8), "fc", net.Add(new Flatten(), "flat", g));
        var gelu = net.Add(new Gelu(), "gelu", l);
        var m = net.Add(new Mul(), "mul", gelu, net.Add(new Tanh(), "tanh", l));
        var d = net.Add(new Div(), "div", net.Add(new Sub(), "sub", m, l), net.Add(new Sigmoid(), "sig2", l));
        net.Output(net.Add(new Softmax(), "softmax", d), "probs");
        net.Output(net.Add(new Tanh(), "tanh_grid", net.Add(new Reshape(2, 4), "reshape", d)), "grid");
        return net;
    }

    static float[] Floats(int length, int seed, double lo, double hi) => RandomData.Uniform(length, seed, lo, hi).Select(v => (float)v).ToArray();

    [Test]
    public void ExportedNetwork_RunsInOnnxRuntimeWithTheSameOutputs_AndImportsBack()
    {
        var net = Build();
        var shape = new Shape(2, 3, 10, 10);
        var x = Floats((int)shape.Elements, 3, -1, 1);
        using var compiled = net.Compile(Context, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = shape }, Seed = 7 });
        int seed = 11;
        foreach (var (name, lo, hi) in new[] { ("bn.running_mean", -0.5, 0.5), ("bn.running_var", 0.5, 2.0), ("bn.weight", 0.5, 1.5), ("bn.bias", -0.2, 0.2) })
            compiled.Parameters[name].Upload(Floats(8, seed++, lo, hi));
        compiled.SetInput("x", x);
        compiled.Run();
        var (probs, grid) = (compiled.GetOutput("probs"), compiled.GetOutput("grid"));

        var dir = OnnxFixtures.TempFolder();
        try
        {
            var path = Path.Combine(dir, "kiln.onnx");
            OnnxExporter.Save(net, compiled, path);

            using var session = new InferenceSession(path);
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, shape.ToArray())) });
            Assert.That(RelativeError.MaxRelative(results.Single(r => r.Name == "probs").AsTensor<float>().ToArray(), probs), Is.LessThan(Tolerances.Forward), "probs, ONNX Runtime");
            var ortGrid = results.Single(r => r.Name == "grid").AsTensor<float>();
            Assert.That(ortGrid.Dimensions.ToArray(), Is.EqualTo(new[] { 2, 2, 4 }));
            Assert.That(RelativeError.MaxRelative(ortGrid.ToArray(), grid), Is.LessThan(Tolerances.Forward), "grid, ONNX Runtime");

            var imported = OnnxImporter.Load(path);
            using var again = imported.Compile(Context);
            again.SetInput("x", x);
            again.Run();
            Assert.That(RelativeError.MaxRelative(again.GetOutput("probs"), probs), Is.LessThan(Tolerances.Forward), "probs, imported back");
            Assert.That(RelativeError.MaxRelative(again.GetOutput("grid"), grid), Is.LessThan(Tolerances.Forward), "grid, imported back");
            Assert.That(imported.Parameters.Select(p => p.OnnxName), Does.Contain("conv.weight").And.Contain("bn.running_var"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void MatMulTransposeSoftmaxAxisAndAlignCorners_ExportAndRunInOnnxRuntime()
    {
        var net = new Network();
        var x = net.Input("x");
        var q = net.Add(new MatMul(new Shape(5, 6)), "proj", x);
        var k = net.Add(new Transpose(0, 1, 3, 2), "qt", q);
        var s = net.Add(new Softmax(-1), "attn", net.Add(new MatMul(), "scores", q, k));
        net.Output(net.Add(new Upsample(2, UpsampleMode.BilinearAlignCorners), "up", s), "y");
        var shape = new Shape(2, 3, 4, 5);
        var xs = Floats((int)shape.Elements, 5, -1, 1);
        using var compiled = net.Compile(Context, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = shape }, Seed = 3 });
        compiled.SetInput("x", xs);
        compiled.Run();
        var y = compiled.GetOutput("y");
        var dir = OnnxFixtures.TempFolder();
        try
        {
            var path = Path.Combine(dir, "attn.onnx");
            OnnxExporter.Save(net, compiled, path);
            using var session = new InferenceSession(path);
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(xs, shape.ToArray())) });
            Assert.That(RelativeError.MaxRelative(results.Single().AsTensor<float>().ToArray(), y), Is.LessThan(Tolerances.Forward), "ONNX Runtime");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void LayerWithoutAnOnnxForm_IsNamed()
    {
        var net = new Network();
        var x = net.Input("x");
        net.Output(net.Add(new MseLoss(), "mse", x, x), "y");
        var e = Assert.Throws<KilnException>(() => OnnxExporter.Export(net, new Dictionary<string, Shape> { ["x"] = new(2, 2) }, new Dictionary<string, float[]>()))!;
        Assert.That(e.Message, Does.Contain("MseLoss").And.Contain("mse"));
    }
}
