namespace Kiln.Embedding;

/// <summary>Storage-image formats Kiln reads and writes (each has its own conversion shader variant).</summary>
public enum HostImageFormat
{
    /// <summary>VK_FORMAT_R32G32B32A32_SFLOAT.</summary>
    Rgba32Float,
    /// <summary>VK_FORMAT_R16G16B16A16_SFLOAT (values round to half precision when written).</summary>
    Rgba16Float,
    /// <summary>VK_FORMAT_R8G8B8A8_UNORM (0..1; values outside are clamped when written).</summary>
    Rgba8Unorm,
}
