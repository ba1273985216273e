using System.Buffers.Binary;

namespace Kiln.IO;

/// <summary>One tensor of a safetensors file: its dtype name ("F32", "F16", ...), shape and raw little-endian bytes.</summary>
public sealed class SafetensorsTensor
{
    internal SafetensorsTensor(string name, string dtype, int[] shape, byte[] data)
    {
        Name = name;
        Dtype = dtype;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }
    public string Dtype { get; }
    public int[] Shape { get; }
    public byte[] Data { get; }
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values as f32 (from F32, F16, BF16 or F64 storage).</summary>
    public float[] ToFloats()
    {
        var result = new float[Elements];
        var span = Data.AsSpan();
        for (int i = 0; i < result.Length; i++)
            result[i] = Dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(span[(2 * i)..]),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[(2 * i)..]) << 16),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(span[(8 * i)..]),
                _ => throw new SafetensorsException($"tensor '{Name}': dtype {Dtype} can't be read as f32 (F32, F16, BF16 and F64 can)."),
            };
        return result;
    }
}
