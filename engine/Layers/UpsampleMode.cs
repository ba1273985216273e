namespace Kiln;

/// <summary>How <see cref="Upsample"/> fills new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Copies the nearest input pixel, source index floor(dst / scale) (each one becomes a scale x scale block; ONNX Resize asymmetric + floor).</summary>
    Nearest = 0,
    /// <summary>Bilinear interpolation with PyTorch's align_corners=False (ONNX Resize half_pixel / pytorch_half_pixel).</summary>
    Bilinear = 1,
    /// <summary>Bilinear interpolation with PyTorch's align_corners=True (ONNX Resize align_corners): corner pixels of input and output coincide.</summary>
    BilinearAlignCorners = 2,
}
