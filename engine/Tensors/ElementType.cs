namespace Kiln;

/// <summary>Element type of a tensor: what each value is stored as on the GPU.</summary>
public enum ElementType
{
    F32,
    F16,
}

/// <summary>Sizes and names of <see cref="ElementType"/>s.</summary>
public static class ElementTypes
{
    public static int SizeInBytes(this ElementType t) => t switch
    {
        ElementType.F32 => 4,
        ElementType.F16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static string Name(this ElementType t) => t switch
    {
        ElementType.F32 => "f32",
        ElementType.F16 => "f16",
        _ => t.ToString(),
    };
}
