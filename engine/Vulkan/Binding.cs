using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// What one descriptor binding points at: a range of a Kiln buffer, or a storage image view that a host
/// owns (in VK_IMAGE_LAYOUT_GENERAL while Kiln's work runs).
/// </summary>
internal readonly struct Binding
{
    public readonly BufferAllocation? Buffer;
    public readonly ulong Offset;
    public readonly ulong Size;
    public readonly ImageView Image;

    Binding(BufferAllocation? buffer, ulong offset, ulong size, ImageView image)
    {
        Buffer = buffer;
        Offset = offset;
        Size = size;
        Image = image;
    }

    public static Binding Of(BufferAllocation buffer) => new(buffer, 0, buffer.Size, default);

    public static Binding Range(BufferAllocation buffer, ulong offset, ulong size)
    {
        if (offset + size > buffer.Size)
            throw new ArgumentOutOfRangeException(nameof(size), $"Range [{offset}, {offset + size}) lies outside {buffer.Describe()} ({buffer.Size} bytes).");
        return new(buffer, offset, size, default);
    }

    public static Binding StorageImage(ImageView view) => new(null, 0, 0, view);

    public bool IsImage => Buffer == null;
}
