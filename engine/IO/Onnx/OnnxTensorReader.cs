using System.Buffers.Binary;
using Onnx;

namespace Kiln.IO;

/// <summary>
/// Turns a TensorProto (inline typed fields, raw_data, or external data beside the model) into an
/// <see cref="OnnxTensor"/>. Every dimension, size and offset is checked before anything is allocated; external
/// files are read only from the model's own folder.
/// </summary>
internal static class OnnxTensorReader
{
    /// <summary>Largest tensor read (elements): Kiln's own limit for one tensor.</summary>
    const long MaxElements = Shape.MaxElements;

    public static OnnxTensor Read(TensorProto t, string modelFolder, string where)
    {
        var dims = t.Dims.ToArray();
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new KilnException($"{where}: tensor '{t.Name}' has a negative dimension [{string.Join(",", dims)}].");
            if (d > 0 && count > MaxElements / d) throw new KilnException($"{where}: tensor '{t.Name}' [{string.Join(",", dims)}] has more than {MaxElements} elements.");
            count *= d;
        }
        var type = (TensorProto.Types.DataType)t.DataType;
        int size = ElementBytes(type) ?? throw new KilnException($"{where}: tensor '{t.Name}' has element type {type}, which Kiln does not import (float, double, float16 and integer types only).");
        bool isInteger = type is not (TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16);
        long bytes = count * size;

        if (t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External)
            return Decode(ReadExternal(t, modelFolder, bytes, where), type, count, dims, isInteger);
        if (t.HasRawData)
        {
            if (t.RawData.Length != bytes)
                throw new KilnException($"{where}: tensor '{t.Name}' {type} [{string.Join(",", dims)}] needs {bytes} bytes of raw_data, the file holds {t.RawData.Length}.");
            return Decode(t.RawData.Span, type, count, dims, isInteger);
        }
        double[] values = type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Select(v => (double)v).ToArray(),
            TensorProto.Types.DataType.Double => t.DoubleData.ToArray(),
            TensorProto.Types.DataType.Int64 => t.Int64Data.Select(v => (double)v).ToArray(),
            TensorProto.Types.DataType.Uint64 or TensorProto.Types.DataType.Uint32 => t.Uint64Data.Select(v => (double)v).ToArray(),
            TensorProto.Types.DataType.Float16 => t.Int32Data.Select(v => (double)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(),
            _ => t.Int32Data.Select(v => (double)v).ToArray(),
        };
        if (values.Length != count)
            throw new KilnException($"{where}: tensor '{t.Name}' [{string.Join(",", dims)}] needs {count} values, the file holds {values.Length}.");
        return new OnnxTensor(dims, values, isInteger);
    }

    static int? ElementBytes(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
        _ => null,
    };

    static OnnxTensor Decode(ReadOnlySpan<byte> raw, TensorProto.Types.DataType type, long count, long[] dims, bool isInteger)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++)
            v[i] = type switch
            {
                TensorProto.Types.DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]),
                TensorProto.Types.DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]),
                TensorProto.Types.DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]),
                TensorProto.Types.DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]),
                TensorProto.Types.DataType.Uint64 => BinaryPrimitives.ReadUInt64LittleEndian(raw[(8 * i)..]),
                TensorProto.Types.DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]),
                TensorProto.Types.DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * i)..]),
                TensorProto.Types.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]),
                TensorProto.Types.DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]),
                TensorProto.Types.DataType.Int8 => (sbyte)raw[i],
                _ => raw[i],
            };
        return new OnnxTensor(dims, v, isInteger);
    }

    /// <summary>
    /// Reads external data: "location" must be a relative path inside the model's folder (no "..", not rooted,
    /// not a link leading out of it); offset and length must lie within the file and match the tensor's size.
    /// </summary>
    static byte[] ReadExternal(TensorProto t, string modelFolder, long bytes, string where)
    {
        var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        string Fail(string why) => throw new KilnException($"{where}: tensor '{t.Name}' external data: {why}.");
        if (!entries.TryGetValue("location", out var location) || string.IsNullOrEmpty(location)) throw new KilnException($"{where}: tensor '{t.Name}' external data: no location.");
        long Number(string key, long fallback)
        {
            if (!entries.TryGetValue(key, out var s)) return fallback;
            return long.TryParse(s, out long n) && n >= 0 ? n : throw new KilnException($"{where}: tensor '{t.Name}' external data: {key} '{s}' is not a non-negative integer.");
        }
        long offset = Number("offset", 0), length = Number("length", bytes);
        if (Path.IsPathRooted(location) || location.Contains(':'))
            Fail($"location '{location}' is an absolute path; only files beside the model are read");
        if (location.Split('/', '\\').Any(p => p == ".."))
            Fail($"location '{location}' leaves the model's folder");
        var root = Path.GetFullPath(modelFolder);
        var full = Path.GetFullPath(Path.Combine(root, location));
        if (!full.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            Fail($"location '{location}' leaves the model's folder");
        // A symbolic link anywhere on the way must not lead out of the folder either.
        var resolved = Resolve(full);
        var resolvedRoot = Resolve(root);
        if (!resolved.StartsWith(resolvedRoot.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            Fail($"location '{location}' is a link leading out of the model's folder");
        if (length != bytes) Fail($"length {length} does not match the {bytes} bytes the tensor needs");
        FileStream stream;
        try { stream = new FileStream(resolved, FileMode.Open, FileAccess.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new KilnException($"{where}: tensor '{t.Name}' external data: {e.Message}"); }
        using (stream)
        {
            if (offset > stream.Length || length > stream.Length - offset)
                Fail($"[{offset}, {offset + length}) runs past the end of the {stream.Length}-byte file '{location}'");
            var data = new byte[length];
            stream.Position = offset;
            stream.ReadExactly(data);
            return data;
        }
    }

    /// <summary>The path with every symbolic link on it followed.</summary>
    static string Resolve(string path)
    {
        var parts = new List<string>();
        var current = path;
        while (!string.IsNullOrEmpty(current))
        {
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget != null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target != null) return Path.Combine(new[] { target.FullName }.Concat(Enumerable.Reverse(parts)).ToArray());
            }
            var parent = Path.GetDirectoryName(current);
            if (parent == null) break;
            parts.Add(Path.GetFileName(current));
            current = parent;
        }
        return path;
    }
}
