using System.Buffers.Binary;
using System.IO.Compression;

namespace Kiln.IO;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (optionally gzipped): a big-endian magic 0x0000TTDD (TT the
/// element type, DD the number of dimensions), the dimensions as big-endian 32-bit sizes, then the data.
/// Only unsigned bytes (type 0x08) are read, as those data sets use. Sizes are checked before allocating.
/// </summary>
public static class IdxFile
{
    /// <summary>Largest element count accepted (2^31 - 1 bytes).</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>The dimensions and the bytes of an IDX file (.gz is decompressed).</summary>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            return Read(stream, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new KilnException($"{path}: {e.Message}");
        }
    }

    public static (int[] Shape, byte[] Data) Read(Stream stream, string where)
    {
        Span<byte> word = stackalloc byte[4];
        if (!ReadExactly(stream, word)) throw new KilnException($"{where}: too short for an IDX magic number.");
        if (word[0] != 0 || word[1] != 0) throw new KilnException($"{where}: not an IDX file (magic {Convert.ToHexString(word)}).");
        if (word[2] != 0x08) throw new KilnException($"{where}: IDX element type 0x{word[2]:x2} is not unsigned bytes (0x08).");
        int rank = word[3];
        if (rank == 0) throw new KilnException($"{where}: IDX file with no dimensions.");
        var shape = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            if (!ReadExactly(stream, word)) throw new KilnException($"{where}: truncated in the dimensions.");
            uint d = BinaryPrimitives.ReadUInt32BigEndian(word);
            if (d == 0 || d > int.MaxValue) throw new KilnException($"{where}: dimension {i} is {d}.");
            shape[i] = (int)d;
            elements *= d;
            if (elements > MaxElements) throw new KilnException($"{where}: [{string.Join(",", shape.Take(i + 1))}...] has more than {MaxElements} elements.");
        }
        var data = new byte[elements];
        if (!ReadExactly(stream, data)) throw new KilnException($"{where}: truncated: [{string.Join(",", shape)}] needs {elements} bytes of data.");
        return (shape, data);
    }

    static bool ReadExactly(Stream s, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = s.Read(buffer[done..]);
            if (n == 0) return false;
            done += n;
        }
        return true;
    }
}
