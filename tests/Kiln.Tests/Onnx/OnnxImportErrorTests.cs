using Google.Protobuf;
using Kiln.IO;
using NUnit.Framework;
using Onnx;
using static Kiln.Tests.Onnx.OnnxTestModels;

namespace Kiln.Tests.Onnx;

/// <summary>What the importer says about models it can't or must not read. No GPU: import builds the graph only.</summary>
public sealed class OnnxImportErrorTests
{
    string dir = "";

    [SetUp]
    public void MakeFolder() => dir = OnnxFixtures.TempFolder();

    [TearDown]
    public void RemoveFolder() => Directory.Delete(dir, true);

    static KilnException Fails(TestDelegate load) => Assert.Throws<KilnException>(load)!;

    [Test]
    public void HandBuiltGemm_ImportsWithItsInitializers()
    {
        var model = OnnxImporter.Load(Save(Gemm(out _, out _), dir));
        Assert.That(model.OutputShapes["y"], Is.EqualTo(new Shape(2, 4)));
        Assert.That(model.TrainableNames, Is.EqualTo(new[] { "W", "b" }));
        Assert.That(model.Parameters.Select(p => p.KilnName), Is.EqualTo(new[] { "fc.weight", "fc.bias" }));
    }

    [Test]
    public void SymbolicBatchDimension_TakesTheGivenShape_AndNeedsOne()
    {
        var m = Gemm(out _, out _);
        m.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam = "N";
        var path = Save(m, dir);
        Assert.That(OnnxImporter.Load(path, new Dictionary<string, Shape> { ["x"] = new(5, 3) }).OutputShapes["y"], Is.EqualTo(new Shape(5, 4)));
        Assert.That(Fails(() => OnnxImporter.Load(path)).Message, Does.Contain("input 'x' has no fixed shape"));
    }

    [Test]
    public void UnsupportedOp_NamesTheOpTypeAndTheNode()
    {
        var m = Gemm(out _, out _);
        m.Graph.Node[1] = Node("LSTM", "rnn_7", new[] { "h" }, new[] { "y" });
        var e = Fails(() => OnnxImporter.Load(Save(m, dir)));
        Assert.That(e.Message, Does.Contain("LSTM").And.Contain("rnn_7").And.Contain("not supported"));
    }

    /// <summary>The other order exporters use, 0.5 x first and x * (1/sqrt2) inside the erf: still one Gelu.</summary>
    [Test]
    public void GeluWrittenAsHalfXTimesOnePlusErf_IsOneGeluLayer()
    {
        var m = Gemm(out _, out _);
        m.Graph.Initializer.Add(Floats("inv_sqrt2", Array.Empty<long>(), new[] { 1 / MathF.Sqrt(2) }));
        m.Graph.Initializer.Add(Floats("half", Array.Empty<long>(), new[] { 0.5f }));
        m.Graph.Initializer.Add(Floats("one", Array.Empty<long>(), new[] { 1f }));
        m.Graph.Node.RemoveAt(1);
        m.Graph.Node.Add(Node("Mul", "half_x", new[] { "h", "half" }, new[] { "hx" }));
        m.Graph.Node.Add(Node("Mul", "scaled", new[] { "inv_sqrt2", "h" }, new[] { "s" }));
        m.Graph.Node.Add(Node("Erf", "erf", new[] { "s" }, new[] { "e" }));
        m.Graph.Node.Add(Node("Add", "plus_one", new[] { "one", "e" }, new[] { "p" }));
        m.Graph.Node.Add(Node("Mul", "gelu", new[] { "hx", "p" }, new[] { "y" }));
        var model = OnnxImporter.Load(Save(m, dir));
        Assert.That(model.Network.Nodes.Where(n => !n.IsInput).Select(n => n.Layer!.Kind), Is.EqualTo(new[] { "linear", "gelu" }));
    }

    [Test]
    public void ErfOutsideTheGeluPattern_IsNamed()
    {
        var m = Gemm(out _, out _);
        m.Graph.Node[1] = Node("Erf", "lonely_erf", new[] { "h" }, new[] { "y" });
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("lonely_erf").And.Contain("Erf outside the GELU pattern"));
    }

    [Test]
    public void ConstantOperand_BecomesATrainableConstantNamedAfterItsUser()
    {
        var m = Gemm(out _, out _);
        m.Graph.Initializer.Add(Floats("bias2", new long[] { 4 }, new float[4]));
        m.Graph.Node[1] = Node("Add", "add_bias", new[] { "h", "bias2" }, new[] { "y" });
        var model = OnnxImporter.Load(Save(m, dir));
        Assert.That(model.Parameters.Single(p => p.OnnxName == "bias2").KilnName, Is.EqualTo("add_bias/const.value"));
        Assert.That(model.Network.Nodes.Select(n => n.Name), Does.Contain("add_bias"));
        Assert.That(model.TrainableNames, Does.Contain("bias2"));
    }

    [Test]
    public void AddOfShapesThatDoNotBroadcast_NamesTheNodeAndTheShapes()
    {
        var m = Gemm(out _, out _);
        m.Graph.Initializer.Add(Floats("bias3", new long[] { 3 }, new float[3]));
        m.Graph.Node[1] = Node("Add", "add_bias", new[] { "h", "bias3" }, new[] { "y" });
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("add_bias").And.Contain("[2,4]").And.Contain("[3]"));
    }

    [Test]
    public void UndefinedValue_IsNamed()
    {
        var m = Gemm(out _, out _);
        m.Graph.Node[1] = Node("Relu", "act", new[] { "nowhere" }, new[] { "y" });
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("'nowhere'").And.Contain("act"));
    }

    [Test]
    public void GivenShape_ThatContradictsTheModel_IsRejected()
    {
        var path = Save(Gemm(out _, out _), dir);
        Assert.That(Fails(() => OnnxImporter.Load(path, new Dictionary<string, Shape> { ["x"] = new(2, 5) })).Message, Does.Contain("input 'x'").And.Contain("[2,5]"));
        Assert.That(Fails(() => OnnxImporter.Load(path, new Dictionary<string, Shape> { ["z"] = new(2, 3) })).Message, Does.Contain("'z'"));
    }

    [Test]
    public void ShapeMismatchBetweenLayers_NamesTheNode()
    {
        var m = Gemm(out _, out _);
        m.Graph.Initializer[0] = Floats("W", new long[] { 4, 5 }, new float[20]);
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("'fc'").And.Contain("Gemm"));
    }

    [Test]
    public void TruncatedFile_AtEveryLength_IsAOneLineKilnException()
    {
        var bytes = Gemm(out _, out _).ToByteArray();
        for (int length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<KilnException>(() => OnnxImporter.Parse(bytes[..length], dir, "cut.onnx"), $"cut at {length}")!;
            Assert.That(e.Message, Does.Not.Contain('\n'), $"cut at {length}");
        }
    }

    [Test]
    public void RandomBytes_AreRejected()
    {
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[rng.Next(1, 200)];
            rng.NextBytes(bytes);
            Assert.Throws<KilnException>(() => OnnxImporter.Parse(bytes, dir, "noise.onnx"));
        }
    }

    /// <summary>Corrupted exports: every outcome is an import or a KilnException, never another exception.</summary>
    [TestCase("unet_op13")]
    [TestCase("convnet_op11")]
    [TestCase("gelu_softmax_op17")]
    public void CorruptedBytes_ImportOrFailWithAKilnException(string name)
    {
        var original = File.ReadAllBytes(Path.Combine(OnnxFixtures.Folder, name + ".onnx"));
        var rng = new Random(name.Length);
        for (int i = 0; i < 400; i++)
        {
            var bytes = (byte[])original.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            try { OnnxImporter.Parse(bytes, dir, "corrupt.onnx", new Dictionary<string, Shape>()); }
            catch (KilnException e) { Assert.That(e.Message, Does.Not.Contain('\n')); }
        }
    }

    [Test]
    public void RawDataSizeLies_AreCaughtBeforeAllocating()
    {
        var m = Gemm(out _, out _);
        m.Graph.Initializer[0].Dims[0] = 400_000_000; // claims 1.2e9 floats, holds 12
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("'W'").And.Contain("raw_data"));
        m.Graph.Initializer[0].Dims[0] = long.MaxValue / 2;
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("'W'"));
        m.Graph.Initializer[0].Dims[0] = -4;
        Assert.That(Fails(() => OnnxImporter.Load(Save(m, dir))).Message, Does.Contain("negative"));
    }

    static ModelProto External(string location, long offset = 0, long? length = null)
    {
        var m = Gemm(out _, out _);
        var w = m.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        if (length is { } l) w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString() });
        return m;
    }

    [Test]
    public void ExternalData_BesideTheModel_IsRead()
    {
        Gemm(out var w, out _);
        var bytes = new byte[8 + 48];
        Buffer.BlockCopy(w, 0, bytes, 8, 48);
        File.WriteAllBytes(Path.Combine(dir, "weights.bin"), bytes);
        var model = OnnxImporter.Load(Save(External("weights.bin", offset: 8, length: 48), dir));
        Assert.That(model.TrainableNames, Does.Contain("W"));
    }

    [TestCase("../weights.bin")]
    [TestCase("sub/../../weights.bin")]
    [TestCase("/etc/passwd")]
    public void ExternalData_OutsideTheFolder_IsRefused(string location)
    {
        Assert.That(Fails(() => OnnxImporter.Load(Save(External(location), dir))).Message, Does.Contain("'W' external data"));
    }

    [Test]
    public void ExternalData_ThroughASymlinkLeavingTheFolder_IsRefused()
    {
        var outside = OnnxFixtures.TempFolder();
        try
        {
            File.WriteAllBytes(Path.Combine(outside, "weights.bin"), new byte[48]);
            File.CreateSymbolicLink(Path.Combine(dir, "weights.bin"), Path.Combine(outside, "weights.bin"));
            Directory.CreateSymbolicLink(Path.Combine(dir, "linked"), outside);
            Assert.That(Fails(() => OnnxImporter.Load(Save(External("weights.bin"), dir))).Message, Does.Contain("link"));
            Assert.That(Fails(() => OnnxImporter.Load(Save(External("linked/weights.bin"), dir))).Message, Does.Contain("link"));
        }
        finally { Directory.Delete(outside, true); }
    }

    [Test]
    public void ExternalData_SizeLies_AreCaught()
    {
        File.WriteAllBytes(Path.Combine(dir, "weights.bin"), new byte[48]);
        Assert.That(Fails(() => OnnxImporter.Load(Save(External("weights.bin", offset: 8), dir))).Message, Does.Contain("runs past the end"));
        Assert.That(Fails(() => OnnxImporter.Load(Save(External("weights.bin", length: 40), dir))).Message, Does.Contain("length 40"));
        Assert.That(Fails(() => OnnxImporter.Load(Save(External("weights.bin", offset: long.MaxValue - 4), dir))).Message, Does.Contain("runs past the end"));
        Assert.That(Fails(() => OnnxImporter.Load(Save(External("missing.bin"), dir))).Message, Does.Contain("'W' external data"));
    }
}
