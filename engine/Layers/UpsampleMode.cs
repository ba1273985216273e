namespace Kiln;

/// <summary>How <see cref="Upsample"/> fills new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Copies the nearest input pixel (each one becomes a scale x scale block).</summary>
    Nearest = 0,
    /// <summary>Bilinear interpolation with PyTorch's align_corners=False.</summary>
    Bilinear = 1,
}
