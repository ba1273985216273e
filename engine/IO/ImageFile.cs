using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Kiln.IO;

/// <summary>
/// PNG and JPEG files as float tensors (SixLabors.ImageSharp): images load as RGB in CHW order with values in
/// [0, 1]; 1- or 3-channel CHW tensors save as PNG (values clipped to [0, 1], rounded to 8 bits); a grid of
/// tiles (e.g. input / output / target per row) saves as one PNG. Unreadable files are a <see cref="KilnException"/>
/// naming the file.
/// </summary>
public static class ImageFile
{
    /// <summary>Largest image (width x height) decoded unless the caller says otherwise: 64 megapixels.</summary>
    public const long DefaultMaxPixels = 64L * 1000 * 1000;

    /// <summary>Reads only the header: the image's height and width. Throws when the file is not a readable image.</summary>
    public static (int Height, int Width) Identify(string path)
    {
        var info = Guard(path, () => Image.Identify(path));
        if (info == null) throw new KilnException($"{path}: not an image format ImageSharp knows.");
        return (info.Height, info.Width);
    }

    /// <summary>The image as RGB floats in [0, 1], CHW order (3 x height x width).</summary>
    public static (float[] Chw, int Height, int Width) Load(string path, long maxPixels = DefaultMaxPixels)
    {
        var (rgb, height, width) = LoadRgb24(path, maxPixels);
        var chw = new float[rgb.Length];
        int plane = height * width;
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) chw[c * plane + i] = rgb[3 * i + c] / 255f;
        return (chw, height, width);
    }

    /// <summary>The image as interleaved 8-bit RGB (height x width x 3), its size checked against <paramref name="maxPixels"/> before decoding.</summary>
    public static (byte[] Rgb, int Height, int Width) LoadRgb24(string path, long maxPixels = DefaultMaxPixels)
    {
        var (height, width) = Identify(path);
        if ((long)height * width > maxPixels)
            throw new KilnException($"{path}: {width}x{height} is more than {maxPixels} pixels.");
        return Guard(path, () =>
        {
            using var image = Image.Load<Rgb24>(path);
            var rgb = new byte[image.Height * image.Width * 3];
            image.CopyPixelDataTo(rgb);
            return (rgb, image.Height, image.Width);
        });
    }

    /// <summary>Saves a CHW tensor of 1 (grey) or 3 (RGB) channels as a PNG; values are clipped to [0, 1].</summary>
    public static void Save(string path, ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        if (channels != 1 && channels != 3) throw new ArgumentException($"{channels} channels: PNGs are saved from 1 or 3 channels.", nameof(channels));
        CheckSize(chw.Length, channels, height, width);
        var rgb = new byte[height * width * 3];
        Paint(rgb, width, chw, channels, height, width, 0, 0);
        SaveRgb24(path, rgb, height, width);
    }

    /// <summary>
    /// Saves rows of tiles as one PNG, tiles side by side with a <paramref name="gap"/>-pixel grey border.
    /// Every tile is a CHW tensor of <paramref name="height"/> x <paramref name="width"/> pixels; its channel count
    /// is its length / (height * width): 1 or 2 channels show the first as grey, 3 or more the first three as RGB
    /// (so an inpainting input of RGB + mask shows its RGB, a denoiser's colour + albedo + normal its colour).
    /// Values are clipped to [0, 1]. A null tile leaves its cell grey.
    /// </summary>
    public static void SaveGrid(string path, IReadOnlyList<IReadOnlyList<float[]?>> rows, int height, int width, int gap = 2)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("A grid needs at least one row.", nameof(rows));
        if (height <= 0 || width <= 0 || gap < 0) throw new ArgumentException($"Tile size {height}x{width} and gap {gap} must be positive.");
        int columns = rows.Max(r => r.Count);
        if (columns == 0) throw new ArgumentException("A grid needs at least one tile.", nameof(rows));
        int gridW = columns * (width + gap) + gap, gridH = rows.Count * (height + gap) + gap;
        if ((long)gridW * gridH > DefaultMaxPixels) throw new ArgumentException($"A {gridW}x{gridH} grid is too large.");
        var rgb = new byte[gridH * gridW * 3];
        rgb.AsSpan().Fill(128);
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Count; c++)
            {
                var tile = rows[r][c];
                if (tile == null) continue;
                int plane = height * width;
                if (tile.Length == 0 || tile.Length % plane != 0)
                    throw new ArgumentException($"Tile ({r}, {c}) has {tile.Length} values, not a whole number of {height}x{width} planes.", nameof(rows));
                int channels = tile.Length / plane;
                Paint(rgb, gridW, tile, channels >= 3 ? 3 : 1, height, width, gap + r * (height + gap), gap + c * (width + gap));
            }
        SaveRgb24(path, rgb, gridH, gridW);
    }

    /// <summary>Writes the first <paramref name="channels"/> (1 or 3) planes of a CHW tensor into an RGB24 canvas at (top, left).</summary>
    static void Paint(byte[] canvas, int canvasWidth, ReadOnlySpan<float> chw, int channels, int height, int width, int top, int left)
    {
        int plane = height * width;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = ((top + y) * canvasWidth + left + x) * 3;
                for (int c = 0; c < 3; c++)
                {
                    float v = chw[(channels == 1 ? 0 : c) * plane + y * width + x];
                    canvas[o + c] = (byte)Math.Round(255 * (float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f)));
                }
            }
    }

    static void SaveRgb24(string path, byte[] rgb, int height, int width)
    {
        Guard(path, () =>
        {
            using var image = Image.LoadPixelData<Rgb24>(rgb, width, height);
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir != null) Directory.CreateDirectory(dir);
            image.SaveAsPng(path);
            return 0;
        });
    }

    static void CheckSize(int length, int channels, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Image size {height}x{width} must be positive.");
        if (length != (long)channels * height * width)
            throw new ArgumentException($"{length} values are not {channels}x{height}x{width}.");
    }

    static T Guard<T>(string path, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageFormatException or NotSupportedException or InvalidDataException)
        {
            throw new KilnException($"{path}: {e.Message}");
        }
    }
}
