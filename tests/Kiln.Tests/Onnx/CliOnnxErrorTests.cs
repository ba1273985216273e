using System.Buffers.Binary;
using Google.Protobuf;
using Kiln.IO;
using NUnit.Framework;
using static Kiln.Tests.Onnx.OnnxTestModels;

namespace Kiln.Tests.Onnx;

/// <summary>`kiln run` and `kiln grad` on bad files and arguments: one line on stderr, a non-zero exit, no dump.</summary>
public sealed class CliOnnxErrorTests
{
    string dir = "", model = "", input = "", target = "", output = "";

    [SetUp]
    public void MakeFiles()
    {
        dir = OnnxFixtures.TempFolder();
        model = Save(Gemm(out _, out _), dir);
        input = Path.Combine(dir, "x.safetensors");
        target = Path.Combine(dir, "t.safetensors");
        output = Path.Combine(dir, "out.safetensors");
        Safetensors.Write(input, new[] { ("x", new[] { 2, 3 }, new float[6]) });
        Safetensors.Write(target, new[] { ("y", new[] { 2, 4 }, new float[8]) });
    }

    [TearDown]
    public void RemoveFiles() => Directory.Delete(dir, true);

    static void FailsWithOneLine((int Code, string Stderr) r, string mentions)
    {
        Assert.That(r.Code, Is.Not.Zero, r.Stderr);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.Stderr);
        Assert.That(lines[0], Does.StartWith("kiln: ").And.Contain(mentions));
        Assert.That(r.Stderr, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void TruncatedModel()
    {
        var bytes = File.ReadAllBytes(model);
        foreach (var cut in new[] { 0, 1, 7, bytes.Length / 2, bytes.Length - 3 })
        {
            File.WriteAllBytes(model, bytes[..cut]);
            FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "model.onnx");
            FailsWithOneLine(OnnxFixtures.Cli("grad", model, "--input", input, "--target", target, "--output", output), "model.onnx");
        }
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void InputFileWhoseHeaderLiesAboutItsSize()
    {
        var bytes = File.ReadAllBytes(input);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 3);
        File.WriteAllBytes(input, bytes);
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "header length");
    }

    [Test]
    public void TruncatedInputFile()
    {
        var bytes = File.ReadAllBytes(input);
        File.WriteAllBytes(input, bytes[..^4]);
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "x.safetensors");
    }

    [Test]
    public void MissingInputTensor()
    {
        Safetensors.Write(input, new[] { ("z", new[] { 2, 3 }, new float[6]) });
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "no tensor 'x'");
    }

    [Test]
    public void InputOfTheWrongShape()
    {
        Safetensors.Write(input, new[] { ("x", new[] { 2, 7 }, new float[14]) });
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "[2,7]");
    }

    [Test]
    public void TargetOfTheWrongShape()
    {
        Safetensors.Write(target, new[] { ("y", new[] { 2, 5 }, new float[10]) });
        FailsWithOneLine(OnnxFixtures.Cli("grad", model, "--input", input, "--target", target, "--output", output), "target 'y'");
    }

    [Test]
    public void BadArguments()
    {
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input), "--output");
        FailsWithOneLine(OnnxFixtures.Cli("run", "--input", input, "--output", output), "name a model file");
        FailsWithOneLine(OnnxFixtures.Cli("grad", model, "--input", input, "--target", target, "--loss", "huber", "--output", output), "mse or l1");
        FailsWithOneLine(OnnxFixtures.Cli("run", Path.Combine(dir, "absent.onnx"), "--input", input, "--output", output), "absent.onnx");
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output, "--speed", "11"), "--speed");
    }

    [Test]
    public void UnsupportedOp_ReachesTheUserAsOneLine()
    {
        var m = Gemm(out _, out _);
        m.Graph.Node[1] = Node("NonMaxSuppression", "nms", new[] { "h" }, new[] { "y" });
        File.WriteAllBytes(model, m.ToByteArray());
        FailsWithOneLine(OnnxFixtures.Cli("run", model, "--input", input, "--output", output), "NonMaxSuppression");
    }
}
