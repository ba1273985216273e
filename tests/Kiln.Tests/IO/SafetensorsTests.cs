using System.Buffers.Binary;
using System.Text;
using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.IO;

public sealed class SafetensorsTests
{
    static byte[] File(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    [Test]
    public void WriteThenRead_RoundTripsNamesShapesValuesAndMetadata()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kiln-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Write(path, new[] { ("conv.weight", new[] { 2, 1, 3 }, new float[] { 1, -2, 3.5f, 4, 5, 6 }), ("b", new[] { 1 }, new float[] { 0.25f }) },
                new Dictionary<string, string> { ["format"] = "pt" });
            var (tensors, metadata) = Safetensors.Read(path);
            Assert.That(tensors["conv.weight"].Shape, Is.EqualTo(new[] { 2, 1, 3 }));
            Assert.That(tensors["conv.weight"].ToFloats(), Is.EqualTo(new float[] { 1, -2, 3.5f, 4, 5, 6 }));
            Assert.That(tensors["b"].ToFloats(), Is.EqualTo(new[] { 0.25f }));
            Assert.That(metadata["format"], Is.EqualTo("pt"));
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(System.IO.File.ReadAllBytes(path));
            Assert.That(headerLength % 8, Is.Zero, "the header is padded so the data is 8-byte aligned");
        }
        finally { System.IO.File.Delete(path); }
    }

    [Test]
    public void ReadsAFileLaidOutByTheSpecification_F16AndBF16()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteHalfLittleEndian(data, (Half)1.5f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(2), (Half)(-2f));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(4), (ushort)(BitConverter.SingleToInt32Bits(3f) >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(6), (ushort)(BitConverter.SingleToInt32Bits(-0.5f) >> 16));
        var bytes = File("""{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"g":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]}}""", data);
        var (t, _) = Safetensors.Parse(bytes);
        Assert.That(t["h"].ToFloats(), Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(t["g"].ToFloats(), Is.EqualTo(new[] { 3f, -0.5f }));
    }

    static IEnumerable<TestCaseData> Malformed()
    {
        yield return new TestCaseData(new byte[5], "too short").SetName("TooShort");
        var lie = File("{}", Array.Empty<byte>());
        BinaryPrimitives.WriteUInt64LittleEndian(lie, 1000);
        yield return new TestCaseData(lie, "runs past the end").SetName("HeaderLengthLies");
        var huge = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        yield return new TestCaseData(huge, "limit").SetName("HugeHeaderLength");
        yield return new TestCaseData(File("{not json", Array.Empty<byte>()), "not valid JSON").SetName("BadJson");
        yield return new TestCaseData(File("""{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "unknown dtype").SetName("UnknownDtype");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", new byte[4]), "runs past").SetName("OffsetsOutOfRange");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]), "needs 12 bytes").SetName("SizeDisagreesWithShape");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "expected 0").SetName("HoleBeforeData");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[8]), "not indexed").SetName("TrailingUnindexedData");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]), "bad dimension").SetName("NegativeDimension");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", new byte[8]), "end before").SetName("OffsetsReversed");
        yield return new TestCaseData(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "overlapping").SetName("Overlap");
    }

    [TestCaseSource(nameof(Malformed))]
    public void MalformedFiles_FailWithAOneLineReason(byte[] file, string reason)
    {
        var e = Assert.Throws<SafetensorsException>(() => Safetensors.Parse(file, "model.safetensors"));
        Assert.That(e!.Message, Does.Contain(reason).And.StartWith("model.safetensors"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }
}
