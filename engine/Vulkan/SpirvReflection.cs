namespace Kiln.Vulkan;

/// <summary>
/// What a SPIR-V module declares about its buffer bindings, read from the module itself: the float width of each
/// buffer's array elements, so the compiler can check that a kernel variant stores what its values hold.
/// </summary>
internal static class SpirvReflection
{
    const uint Magic = 0x07230203;
    const int OpTypeFloat = 22, OpTypeVector = 23, OpTypeMatrix = 24, OpTypeArray = 28, OpTypeRuntimeArray = 29,
        OpTypeStruct = 30, OpTypePointer = 32, OpVariable = 59, OpDecorate = 71;
    const int DecorationBinding = 33;

    static readonly Dictionary<string, IReadOnlyDictionary<int, int>> cache = new();

    /// <summary>
    /// For each binding of <paramref name="module"/> whose buffer's first member is an array (or runtime array) of floats
    /// or float vectors: the float width in bits (16 or 32). Bindings of other kinds (images, texel buffers, structs of
    /// scalars, integer arrays) are absent.
    /// </summary>
    public static IReadOnlyDictionary<int, int> FloatArrayBits(string module)
    {
        lock (cache)
        {
            if (!cache.TryGetValue(module, out var bits)) cache[module] = bits = Parse(PipelineStore.ReadModule(module), module);
            return bits;
        }
    }

    static IReadOnlyDictionary<int, int> Parse(byte[] bytes, string module)
    {
        if (bytes.Length < 20 || bytes.Length % 4 != 0 || BitConverter.ToUInt32(bytes, 0) != Magic)
            throw new KilnException($"Shader module '{module}' is not SPIR-V.");
        var words = new uint[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, words, 0, bytes.Length);
        var binding = new Dictionary<uint, int>();
        var variables = new Dictionary<uint, uint>(); // variable -> pointer type
        var pointee = new Dictionary<uint, uint>();
        var firstMember = new Dictionary<uint, uint>();
        var element = new Dictionary<uint, uint>(); // array or vector or matrix -> element type
        var floatWidth = new Dictionary<uint, int>();
        for (int i = 5; i < words.Length;)
        {
            int op = (int)(words[i] & 0xFFFF), count = (int)(words[i] >> 16);
            if (count == 0 || i + count > words.Length) throw new KilnException($"Shader module '{module}': malformed SPIR-V at word {i}.");
            switch (op)
            {
                case OpDecorate when count >= 4 && words[i + 2] == DecorationBinding: binding[words[i + 1]] = (int)words[i + 3]; break;
                case OpVariable: variables[words[i + 2]] = words[i + 1]; break;
                case OpTypePointer: pointee[words[i + 1]] = words[i + 3]; break;
                case OpTypeStruct when count >= 3: firstMember[words[i + 1]] = words[i + 2]; break;
                case OpTypeArray or OpTypeRuntimeArray or OpTypeVector or OpTypeMatrix: element[words[i + 1]] = words[i + 2]; break;
                case OpTypeFloat: floatWidth[words[i + 1]] = (int)words[i + 2]; break;
            }
            i += count;
        }
        var result = new Dictionary<int, int>();
        foreach (var (variable, b) in binding)
        {
            if (!variables.TryGetValue(variable, out var ptr) || !pointee.TryGetValue(ptr, out var block)) continue;
            if (!firstMember.TryGetValue(block, out var member) || !element.ContainsKey(member)) continue;
            var t = member;
            while (element.TryGetValue(t, out var e)) t = e;
            if (floatWidth.TryGetValue(t, out int width)) result[b] = width;
        }
        return result;
    }
}
