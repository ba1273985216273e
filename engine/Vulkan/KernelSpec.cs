namespace Kiln.Vulkan;

/// <summary>What a descriptor binding of a kernel holds.</summary>
/// <remarks>
/// UniformTexelBuffer is a read-only f32 buffer seen through an R32_SFLOAT view (GLSL `uniform samplerBuffer`, read
/// with texelFetch): on lavapipe a texel fetch is a branch-free vector gather where a storage-buffer read is a loop
/// over the SIMD lanes, so the CPU-tuned kernels read their large inputs this way. UniformTexelBufferF16 is the same
/// for an f16 buffer (an R16_SFLOAT view; the shader still reads floats).
/// </remarks>
internal enum BindingKind { StorageBuffer, UniformBuffer, StorageImage, UniformTexelBuffer, UniformTexelBufferF16 }

/// <summary>
/// Everything that identifies one compute pipeline: the SPIR-V module, its bindings (set 0, in binding
/// order), the push-constant size, the workgroup size (specialization constants 100, 101, 102, which every
/// shader declares as local_size_x_id/y_id/z_id) and the specialization constants 0..n-1 (ints, uints or
/// floats as raw 32-bit words). Two equal specs share one pipeline.
/// </summary>
internal sealed record KernelSpec(string Module, BindingKind[] Bindings, uint PushConstantBytes, uint[] Constants, uint LocalX, uint LocalY = 1, uint LocalZ = 1)
{
    public const uint LocalSizeXId = 100;

    public string Key => $"{Module}|{string.Join(",", Bindings.Select(b => (int)b))}|{PushConstantBytes}|{LocalX}x{LocalY}x{LocalZ}|{string.Join(",", Constants)}";

    public static uint Word(float f) => BitConverter.SingleToUInt32Bits(f);
    public static uint Word(int i) => unchecked((uint)i);

    public static BindingKind[] Buffers(int count) => Enumerable.Repeat(BindingKind.StorageBuffer, count).ToArray();

    /// <summary>Specialization constant <paramref name="id"/>: 0 past the ones given (what a module's optional constants read as unset).</summary>
    public uint Constant(int id) => id < Constants.Length ? Constants[id] : 0;

    /// <summary>
    /// This spec with constants <paramref name="first"/>.. set to <paramref name="values"/>, any before them that it
    /// lacks padded with zeros (a variant's constants after a module's own: the .concat reads', an output phase's).
    /// One of them already set to something else is an error: two variants claiming the same constants.
    /// </summary>
    public KernelSpec WithConstants(int first, params uint[] values)
    {
        var constants = new uint[Math.Max(Constants.Length, first + values.Length)];
        Constants.CopyTo(constants, 0);
        for (int i = 0; i < values.Length; i++)
        {
            if (constants[first + i] != 0 && constants[first + i] != values[i])
                throw new InvalidOperationException($"{Module}: specialization constant {first + i} is {constants[first + i]} already; a variant can't set it to {values[i]}.");
            constants[first + i] = values[i];
        }
        return this with { Constants = constants };
    }

    public bool Equals(KernelSpec? other) => other is not null && Key == other.Key;
    public override int GetHashCode() => Key.GetHashCode();
}
