using System.Buffers.Binary;
using System.Text;
using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.IO;

/// <summary>
/// The safetensors specification case by case: 8-byte little-endian header length, a JSON object header, known
/// dtypes, data_offsets relative to the data and covering it exactly, __metadata__ a map of strings.
/// </summary>
public sealed class SafetensorsSpecTests
{
    static byte[] File(string header, byte[] data) => File(Encoding.UTF8.GetBytes(header), data);

    static byte[] File(byte[] json, byte[] data)
    {
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    static IEnumerable<TestCaseData> Malformed()
    {
        TestCaseData Case(string name, string header, int dataBytes, string reason) => new TestCaseData(File(header, new byte[dataBytes]), reason).SetName(name);
        yield return Case("HeaderIsAnArray", "[]", 0, "not a JSON object");
        yield return Case("HeaderIsEmpty", "", 0, "not valid JSON");
        yield return Case("DuplicateTensorName", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "appears twice");
        yield return Case("DuplicateMetadata", """{"__metadata__":{},"__metadata__":{}}""", 0, "appears twice");
        yield return Case("MetadataNotAnObject", """{"__metadata__":"x"}""", 0, "__metadata__");
        yield return Case("MetadataValueNotAString", """{"__metadata__":{"k":1}}""", 0, "not a string");
        yield return Case("EntryNotAnObject", """{"a":[1,2]}""", 0, "not an object");
        yield return Case("NoDtype", """{"a":{"shape":[1],"data_offsets":[0,4]}}""", 4, "no dtype");
        yield return Case("DtypeNotAString", """{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}""", 4, "no dtype");
        yield return Case("NoShape", """{"a":{"dtype":"F32","data_offsets":[0,4]}}""", 4, "no shape");
        yield return Case("FractionalDimension", """{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "bad dimension");
        yield return Case("DimensionOverInt", """{"a":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,4]}}""", 4, "bad dimension");
        yield return Case("ElementCountOverflows", """{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", 8, "too large");
        yield return Case("NoOffsets", """{"a":{"dtype":"F32","shape":[1]}}""", 4, "data_offsets");
        yield return Case("ThreeOffsets", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 4, "data_offsets");
        yield return Case("NegativeOffset", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4, "bad data offset");
        yield return Case("OffsetAsString", """{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", 4, "bad data offset");
        yield return Case("OffsetPastEverything", """{"a":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}""", 4, "runs past");
        yield return Case("EndPastTheData", """{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}""", 4, "runs past");
        yield return Case("GapBetweenTensors", """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}""", 4, "expected 2");
        yield return Case("NoTensorsButData", "{}", 4, "not indexed");
        yield return new TestCaseData(File(new byte[] { (byte)'{', 0xff, 0xfe, (byte)'}' }, Array.Empty<byte>()), "not valid JSON").SetName("HeaderNotUtf8");
        var nested = new string('[', 200) + new string(']', 200);
        yield return Case("HeaderNestedTooDeep", "{\"a\":" + nested + "}", 0, "not valid JSON");
    }

    [TestCaseSource(nameof(Malformed))]
    public void Malformed_FailsWithAOneLineReason(byte[] file, string reason)
    {
        var e = Assert.Throws<SafetensorsException>(() => Safetensors.Parse(file, "in.safetensors"))!;
        Assert.That(e.Message, Does.Contain(reason).And.StartWith("in.safetensors"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void SpecialButValid_HeaderPaddedWithSpaces_ScalarsAndEmptyTensors()
    {
        var data = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(data, 2.5f);
        var file = File("""{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"__metadata__":{"k":"v"}}     """, data);
        var (tensors, metadata) = Safetensors.Parse(file);
        Assert.That(tensors["s"].ToFloats(), Is.EqualTo(new[] { 2.5f }));
        Assert.That(tensors["e"].Shape, Is.EqualTo(new[] { 0, 3 }));
        Assert.That(tensors["e"].ToFloats(), Is.Empty);
        Assert.That(metadata["k"], Is.EqualTo("v"));
    }

    [Test]
    public void TruncatedAtEveryLength_FailsAsSafetensorsException()
    {
        var data = new byte[12];
        var file = File("""{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}""", data);
        Assert.That(Safetensors.Parse(file).Tensors, Has.Count.EqualTo(2));
        for (int length = 0; length < file.Length; length++)
            Assert.Throws<SafetensorsException>(() => Safetensors.Parse(file.AsSpan(0, length)), $"cut at {length}");
    }

    [Test]
    public void IntegerTensor_IsNotReadAsFloats()
    {
        var file = File("""{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        var e = Assert.Throws<SafetensorsException>(() => Safetensors.Parse(file).Tensors["i"].ToFloats())!;
        Assert.That(e.Message, Does.Contain("I64"));
    }

    [Test]
    public void Write_RefusesTheSameNameTwice()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kiln-st-{Guid.NewGuid():N}.safetensors");
        Assert.Throws<ArgumentException>(() => Safetensors.Write(path, new[] { ("a", new[] { 1 }, new float[1]), ("a", new[] { 1 }, new float[1]) }));
        Assert.That(System.IO.File.Exists(path), Is.False);
    }
}
