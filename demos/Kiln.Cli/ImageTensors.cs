using Kiln.IO;

namespace Kiln.Cli;

/// <summary>Image files (PNG, JPEG) as `kiln run` inputs [1,C,H,W] and outputs, converted to the channels a model takes.</summary>
internal static class ImageTensors
{
    /// <summary>True for a .png, .jpg or .jpeg path.</summary>
    public static bool IsImage(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg";

    /// <summary>
    /// The image as [1,<paramref name="channels"/>,H,W] in [0,1]: 3 = RGB, 1 = grey (Rec. 601 luma), 4 = the
    /// inpainting input (RGB zeroed where <paramref name="maskPath"/> is white, then the mask, 1 = missing).
    /// </summary>
    public static (Shape Shape, float[] Data) Read(string path, int channels, string? maskPath)
    {
        var (rgb, h, w) = ImageFile.Load(path);
        int plane = h * w;
        if (maskPath != null && channels != 4)
            throw new KilnException($"{maskPath}: --mask is for the inpainting model (4 input channels: RGB + mask); this model takes {channels}.");
        switch (channels)
        {
            case 3: return (new Shape(1, 3, h, w), rgb);
            case 1:
                var grey = new float[plane];
                for (int i = 0; i < plane; i++) grey[i] = 0.299f * rgb[i] + 0.587f * rgb[plane + i] + 0.114f * rgb[2 * plane + i];
                return (new Shape(1, 1, h, w), grey);
            case 4:
                if (maskPath == null)
                    throw new KilnException($"{path}: the inpainting model needs a mask: --mask FILE, an image of the same size, white where pixels are missing.");
                var (m, mh, mw) = ImageFile.Load(maskPath);
                if (mh != h || mw != w) throw new KilnException($"{maskPath}: the mask is {mw}x{mh}, the image {w}x{h}.");
                var data = new float[4 * plane];
                for (int i = 0; i < plane; i++)
                {
                    float missing = (m[i] + m[plane + i] + m[2 * plane + i]) / 3 > 0.5f ? 1 : 0;
                    for (int c = 0; c < 3; c++) data[c * plane + i] = rgb[c * plane + i] * (1 - missing);
                    data[3 * plane + i] = missing;
                }
                return (new Shape(1, 4, h, w), data);
            default:
                throw new KilnException($"{path}: the model's input has {channels} channels; an image gives 1 (grey), 3 (RGB) or 4 (RGB + --mask).");
        }
    }

    /// <summary>Saves output <paramref name="name"/> of shape [1,C,H,W] (C 1 or 3) as a PNG.</summary>
    public static void Write(string path, string name, Shape shape, float[] data)
    {
        if (shape.Rank != 4 || shape[0] != 1 || shape[1] is not (1 or 3))
            throw new KilnException($"{path}: output '{name}' is {shape}; a PNG is written from [1,1,H,W] or [1,3,H,W]. Use a .safetensors output.");
        ImageFile.Save(path, data, shape[1], shape[2], shape[3]);
    }
}
