namespace Kiln.Embedding;

/// <summary>
/// A 2-D storage image a host application owns, as Kiln reads or writes it: an image view (VkImageView handle,
/// 2-D, one mip level and layer, of an image created with VK_IMAGE_USAGE_STORAGE_BIT) with its size and format.
/// Kiln cannot query a view, so the host states them. While Kiln's recorded work runs the image must be in
/// VK_IMAGE_LAYOUT_GENERAL; Kiln never changes its layout, so it is still GENERAL afterwards. Kiln never
/// destroys the view or the image.
/// </summary>
/// <param name="View">VkImageView handle.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Format">The view's format.</param>
public readonly record struct HostImage(nint View, int Width, int Height, HostImageFormat Format)
{
    internal void Check(string what)
    {
        if (View == 0) throw new ArgumentException($"{what}: the image view handle is null.");
        if (Width < 1 || Height < 1) throw new ArgumentException($"{what}: the image is {Width}x{Height}; both sides must be at least 1.");
        if (!Enum.IsDefined(Format)) throw new ArgumentException($"{what}: unknown image format {(int)Format}.");
    }
}
