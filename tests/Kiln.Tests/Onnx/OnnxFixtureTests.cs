using Kiln.IO;
using Kiln.Tests.Reference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;

namespace Kiln.Tests.Onnx;

/// <summary>Imported PyTorch exports against PyTorch's own outputs and gradients, and against ONNX Runtime.</summary>
public sealed class OnnxFixtureTests : GpuTest
{
    [TestCaseSource(typeof(OnnxFixtures), nameof(OnnxFixtures.Cases))]
    public void Import_ForwardMatchesPyTorchAndOnnxRuntime(string model, int opset)
    {
        var data = OnnxFixtures.Data(model);
        var x = data["x"];
        var imported = OnnxImporter.Load(OnnxFixtures.ModelPath(model, opset), new Dictionary<string, Shape> { ["x"] = new(x.Shape) });
        using var net = imported.Compile(Context);
        net.SetInput("x", x.ToFloats());
        net.Run();
        var kiln = net.GetOutput("y");
        Assert.That(imported.OutputShapes["y"].ToArray(), Is.EqualTo(data["y"].Shape));
        Assert.That(RelativeError.MaxRelative(kiln, data["y"].ToFloats()), Is.LessThan(Tolerances.Forward), "against PyTorch");

        using var session = new InferenceSession(OnnxFixtures.ModelPath(model, opset));
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.ToFloats(), x.Shape)) });
        var ort = results.Single(r => r.Name == "y").AsTensor<float>().ToArray();
        Assert.That(RelativeError.MaxRelative(kiln, ort), Is.LessThan(Tolerances.Forward), "against ONNX Runtime");
    }

    static IEnumerable<TestCaseData> GradCases() =>
        from m in OnnxFixtures.Models from o in new[] { 11, 17 } from l in new[] { "mse", "l1" }
        select new TestCaseData(m, o, l).SetName($"{{m}}({m}, opset {o}, {l})");

    [TestCaseSource(nameof(GradCases))]
    public void GradCommand_MatchesPyTorchAutograd(string model, int opset, string loss)
    {
        var data = OnnxFixtures.Data(model);
        var dir = OnnxFixtures.TempFolder();
        try
        {
            string input = Path.Combine(dir, "x.safetensors"), target = Path.Combine(dir, "t.safetensors"), output = Path.Combine(dir, "g.safetensors");
            Safetensors.Write(input, new[] { ("x", data["x"].Shape, data["x"].ToFloats()) });
            Safetensors.Write(target, new[] { ("y", data["target"].Shape, data["target"].ToFloats()) });
            var (code, stderr) = OnnxFixtures.Cli("grad", OnnxFixtures.ModelPath(model, opset), "--input", input, "--target", target, "--loss", loss, "--output", output);
            Assert.That(code, Is.Zero, stderr);
            var grads = Safetensors.Read(output).Tensors;
            var expected = data.Where(kv => kv.Key.StartsWith(loss + "/")).ToDictionary(kv => kv.Key[(loss.Length + 1)..], kv => kv.Value);
            // Every PyTorch parameter is an initializer of the same name in these exports: all must be reported.
            Assert.That(grads.Keys, Is.EquivalentTo(expected.Keys));
            foreach (var (name, want) in expected)
            {
                Assert.That(grads[name].Shape, Is.EqualTo(want.Shape), name);
                Assert.That(RelativeError.MaxRelative(grads[name].ToFloats(), want.ToFloats()), Is.LessThan(Tolerances.Gradient), name);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void RunCommand_WritesEveryOutputByName()
    {
        var data = OnnxFixtures.Data("unet");
        var dir = OnnxFixtures.TempFolder();
        try
        {
            string input = Path.Combine(dir, "x.safetensors"), output = Path.Combine(dir, "y.safetensors");
            Safetensors.Write(input, new[] { ("x", data["x"].Shape, data["x"].ToFloats()) });
            var (code, stderr) = OnnxFixtures.Cli("run", OnnxFixtures.ModelPath("unet", 17), "--input", input, "--output", output);
            Assert.That(code, Is.Zero, stderr);
            var y = Safetensors.Read(output).Tensors["y"];
            Assert.That(y.Shape, Is.EqualTo(data["y"].Shape));
            Assert.That(RelativeError.MaxRelative(y.ToFloats(), data["y"].ToFloats()), Is.LessThan(Tolerances.Forward));
        }
        finally { Directory.Delete(dir, true); }
    }
}
