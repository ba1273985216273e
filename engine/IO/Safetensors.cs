using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Kiln.IO;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" of strings), then the data.
/// Every size and offset is checked before anything is allocated from it.
/// </summary>
public static class Safetensors
{
    /// <summary>Largest JSON header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly Dictionary<string, int> DtypeBytes = new()
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2,
        ["BF16"] = 2, ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };

    public static (IReadOnlyDictionary<string, SafetensorsTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException($"{path}: {e.Message}");
        }
        return Parse(file, path);
    }

    public static (IReadOnlyDictionary<string, SafetensorsTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> file, string where = "safetensors")
    {
        if (file.Length < 8) throw new SafetensorsException($"{where}: {file.Length} bytes, too short for the 8-byte header length.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderBytes) throw new SafetensorsException($"{where}: header length {headerLength} is over the {MaxHeaderBytes}-byte limit.");
        if (headerLength > (ulong)(file.Length - 8)) throw new SafetensorsException($"{where}: header length {headerLength} runs past the end of the {file.Length}-byte file.");
        var data = file[(8 + (int)headerLength)..];
        JsonDocument doc;
        try { doc = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray()); }
        catch (JsonException e) { throw new SafetensorsException($"{where}: the header is not valid JSON ({e.Message.Split('\n')[0]})."); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new SafetensorsException($"{where}: the header is not a JSON object.");
            var tensors = new Dictionary<string, SafetensorsTensor>();
            var metadata = new Dictionary<string, string>();
            var ranges = new List<(long Begin, long End, string Name)>();
            var seen = new HashSet<string>();
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(entry.Name)) throw new SafetensorsException($"{where}: '{entry.Name}' appears twice in the header.");
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw new SafetensorsException($"{where}: __metadata__ is not an object of strings.");
                    foreach (var m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw new SafetensorsException($"{where}: __metadata__ value '{m.Name}' is not a string.");
                    continue;
                }
                var (dtype, shape, begin, end) = Entry(entry, where);
                long elements = shape.Contains(0) ? 0 : 1;
                foreach (var d in shape.Where(_ => elements != 0))
                    if (elements > long.MaxValue / 8 / d)
                        throw new SafetensorsException($"{where}: tensor '{entry.Name}' shape [{string.Join(",", shape)}] is too large to hold.");
                    else elements *= d;
                long expected = elements * DtypeBytes[dtype];
                if (end - begin != expected)
                    throw new SafetensorsException($"{where}: tensor '{entry.Name}' {dtype} [{string.Join(",", shape)}] needs {expected} bytes, its offsets [{begin}, {end}) hold {end - begin}.");
                if (end > data.Length)
                    throw new SafetensorsException($"{where}: tensor '{entry.Name}' data [{begin}, {end}) runs past the {data.Length} bytes of data.");
                ranges.Add((begin, end, entry.Name));
                tensors[entry.Name] = new SafetensorsTensor(entry.Name, dtype, shape, data[(int)begin..(int)end].ToArray());
            }
            // The format requires the data to be covered exactly: no overlaps, no holes.
            long at = 0;
            foreach (var r in ranges.OrderBy(r => r.Begin))
            {
                if (r.Begin != at) throw new SafetensorsException($"{where}: tensor '{r.Name}' starts at {r.Begin}, expected {at} (overlapping or unindexed data).");
                at = r.End;
            }
            if (at != data.Length) throw new SafetensorsException($"{where}: {data.Length - at} bytes of data after the last tensor are not indexed.");
            return (tensors, metadata);
        }
    }

    static (string Dtype, int[] Shape, long Begin, long End) Entry(JsonProperty entry, string where)
    {
        var v = entry.Value;
        string Fail(string what) => throw new SafetensorsException($"{where}: tensor '{entry.Name}': {what}.");
        if (v.ValueKind != JsonValueKind.Object) Fail("entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) Fail("no dtype");
        var dtype = dt.GetString()!;
        if (!DtypeBytes.ContainsKey(dtype)) Fail($"unknown dtype '{dtype}'");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) Fail("no shape");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int n) || n < 0) Fail($"bad dimension {d}");
            shape.Add(d.GetInt32());
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2) Fail("no data_offsets [begin, end]");
        long Offset(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long x) && x >= 0 ? x : throw new SafetensorsException($"{where}: tensor '{entry.Name}': bad data offset {e}.");
        long begin = Offset(off[0]), end = Offset(off[1]);
        if (end < begin) Fail($"data_offsets [{begin}, {end}) end before they begin");
        return (dtype, shape.ToArray(), begin, end);
    }

    /// <summary>
    /// Writes f32 tensors (in the given order) and optional metadata, stored as F32, or with <paramref name="half"/>
    /// as F16 (each value rounded to the nearest half; beyond its range it becomes infinity): half the bytes.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null, bool half = false)
    {
        var list = tensors.ToList();
        int size = half ? 2 : 4;
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            if (name == "__metadata__") throw new ArgumentException("A tensor can't be named __metadata__.");
            if (header.ContainsKey(name)) throw new ArgumentException($"Tensor '{name}' is given twice.");
            long elements = shape.Aggregate(1L, (a, b) => a * b);
            if (elements != data.Length) throw new ArgumentException($"Tensor '{name}': shape [{string.Join(",", shape)}] holds {elements} values, {data.Length} given.");
            header[name] = new { dtype = half ? "F16" : "F32", shape, data_offsets = new[] { offset, offset + (long)size * data.Length } };
            offset += (long)size * data.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8; // spaces keep the data 8-byte aligned
        // Written beside, then renamed: an interrupted write never leaves a torn checkpoint behind.
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, _, data) in list)
            {
                var bytes = new byte[size * data.Length];
                for (int i = 0; i < data.Length; i++)
                    if (half) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)data[i]);
                    else BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
                stream.Write(bytes);
            }
        }, flushToDisk: true);
    }
}
