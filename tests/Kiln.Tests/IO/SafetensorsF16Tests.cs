using Kiln.IO;
using Kiln.Training;
using NUnit.Framework;

namespace Kiln.Tests.IO;

/// <summary>Parameters stored as F16: the small weights files the demos ship.</summary>
public sealed class SafetensorsF16Tests
{
    string dir = "";

    [SetUp]
    public void MakeFolder() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), "kiln-f16-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void RemoveFolder() => Directory.Delete(dir, true);

    static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(i => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 4)))).ToArray();
    }

    [Test]
    public void HalfWrite_StoresF16_ValuesEqualAfterF16Rounding_NamesShapesAndMetadataKept()
    {
        var path = Path.Combine(dir, "w.safetensors");
        var conv = Values(2 * 3 * 3 * 3, 1);
        var bias = new float[] { 0, -0f, 1, -65504, 65504, 1e-8f, 0.1f, 3.14159f };
        Safetensors.Write(path, new[] { ("conv.weight", new[] { 2, 3, 3, 3 }, conv), ("conv.bias", new[] { 8 }, bias) },
            new Dictionary<string, string> { ["preset"] = "x" }, half: true);
        var (tensors, metadata) = Safetensors.Read(path);
        Assert.That(tensors.Keys, Is.EquivalentTo(new[] { "conv.weight", "conv.bias" }));
        Assert.That(tensors["conv.weight"].Dtype, Is.EqualTo("F16"));
        Assert.That(tensors["conv.weight"].Shape, Is.EqualTo(new[] { 2, 3, 3, 3 }));
        Assert.That(tensors["conv.bias"].Shape, Is.EqualTo(new[] { 8 }));
        Assert.That(tensors["conv.weight"].Data, Has.Length.EqualTo(2 * conv.Length));
        Assert.That(tensors["conv.weight"].ToFloats(), Is.EqualTo(conv.Select(v => (float)(Half)v).ToArray()));
        Assert.That(tensors["conv.bias"].ToFloats(), Is.EqualTo(bias.Select(v => (float)(Half)v).ToArray()));
        // F16 keeps 11 significant bits: relative error at most 2^-11 for normal values.
        var read = tensors["conv.weight"].ToFloats();
        for (int i = 0; i < conv.Length; i++)
            if (Math.Abs(conv[i]) > 6.2e-5f) Assert.That(Math.Abs(read[i] - conv[i]), Is.LessThanOrEqualTo(Math.Abs(conv[i]) / 2048), $"value {i}");
        Assert.That(metadata["preset"], Is.EqualTo("x"));
    }

    [Test]
    public void SaveParameters_DropsTheOptimizerState_KeepsMetadata_HalvesTheBytes()
    {
        string full = Path.Combine(dir, "checkpoint.safetensors"), half = Path.Combine(dir, "weights.f16.safetensors");
        var w = Values(64 * 32, 2);
        var b = Values(64, 3);
        Safetensors.Write(full, new[]
        {
            ("l.weight", new[] { 64, 32 }, w), ("l.bias", new[] { 64 }, b),
            (Checkpoint.OptimizerPrefix + "l.weight.adam_m", new[] { 64, 32 }, Values(64 * 32, 4)),
        }, new Dictionary<string, string> { [Checkpoint.PresetKey] = "demo-inpaint", [Checkpoint.InputShapeKey] = "4,32,32" });
        Checkpoint.Read(full).SaveParameters(half);

        var c = Checkpoint.Read(half);
        Assert.That(c.Tensors.Keys, Is.EquivalentTo(new[] { "l.weight", "l.bias" }));
        Assert.That(c.Tensors.Values.Select(t => t.Dtype).Distinct(), Is.EqualTo(new[] { "F16" }));
        Assert.That(c.Tensors["l.weight"].Shape, Is.EqualTo(new[] { 64, 32 }));
        Assert.That(c.Tensors["l.weight"].ToFloats(), Is.EqualTo(w.Select(v => (float)(Half)v).ToArray()));
        Assert.That(c.Tensors["l.bias"].ToFloats(), Is.EqualTo(b.Select(v => (float)(Half)v).ToArray()));
        Assert.That(c.Preset, Is.EqualTo("demo-inpaint"));
        Assert.That(c.InputShape, Is.EqualTo(new Shape(4, 32, 32)));
        Assert.That(new FileInfo(half).Length, Is.LessThan(2 * (w.Length + b.Length) + 1024), "two bytes a value plus the header");
    }

    [Test]
    public void CliExportF16_WritesTheParametersAsF16()
    {
        string full = Path.Combine(dir, "checkpoint.safetensors"), half = Path.Combine(dir, "weights.f16.safetensors");
        var w = Values(12, 5);
        Safetensors.Write(full, new[] { ("l.weight", new[] { 3, 4 }, w), (Checkpoint.OptimizerPrefix + "l.weight.adam_v", new[] { 3, 4 }, Values(12, 6)) },
            new Dictionary<string, string> { [Checkpoint.PresetKey] = "demo-denoise" });
        var run = Kiln.Tests.Cli.CliRun.Run("export", full, "--f16", half);
        Assert.That(run.Code, Is.Zero, run.Stderr);
        Assert.That(run.Stdout, Does.Contain("1 parameter tensors as F16"));
        var c = Checkpoint.Read(half);
        Assert.That(c.Tensors.Keys, Is.EqualTo(new[] { "l.weight" }));
        Assert.That(c.Tensors["l.weight"].Dtype, Is.EqualTo("F16"));
        Assert.That(c.Tensors["l.weight"].ToFloats(), Is.EqualTo(w.Select(v => (float)(Half)v).ToArray()));
        Assert.That(c.Preset, Is.EqualTo("demo-denoise"));
        Assert.That(Kiln.Tests.Cli.CliRun.Run("export", full).Code, Is.Not.Zero, "--onnx or --f16 is required");
    }

    [Test]
    public void SaveParameters_RefusesValuesF16CannotHold_NamingTheTensor()
    {
        string full = Path.Combine(dir, "big.safetensors");
        Safetensors.Write(full, new[] { ("ok", new[] { 2 }, new float[] { 1, 2 }), ("huge", new[] { 3 }, new float[] { 0, 7e4f, 1 }) });
        var e = Assert.Throws<KilnException>(() => Checkpoint.Read(full).SaveParameters(Path.Combine(dir, "out.safetensors")));
        Assert.That(e!.Message, Does.Contain("'huge'").And.Contain("70000").And.Contain(full));
        Assert.That(File.Exists(Path.Combine(dir, "out.safetensors")), Is.False);
    }
}
