using Kiln.IO;

namespace Kiln.Realtime;

/// <summary>
/// A scene source from a still image or a folder of images (PNG, JPEG; a folder is searched recursively, files in
/// ordinal order). Every image is uploaded to the GPU once; each frame a compute shader (shaders/realtime/image_pan.comp)
/// samples a window of the current image bilinearly. The window covers <see cref="Zoom"/> of the image's limiting side
/// and pans along an ellipse through the image over <see cref="SecondsPerImage"/> seconds, after which the next image
/// follows (cycling). Unreadable or oversized files are skipped with a warning; none usable is a <see cref="KilnException"/>.
/// </summary>
public sealed class ImageScene : IDisposable
{
    /// <summary>Largest image accepted (width x height): 16 megapixels.</summary>
    public const long MaxPixelsPerImage = 16L * 1000 * 1000;
    /// <summary>Most images kept from a folder (the first in order); further ones are skipped with a warning.</summary>
    public const int MaxImages = 64;
    /// <summary>Most GPU memory the images take together: 1 GiB of floats.</summary>
    public const long MaxBytes = 1L << 30;

    readonly List<Tensor> images = new();

    ImageScene() { }

    /// <summary>The files shown, in order.</summary>
    public IReadOnlyList<string> Files { get; private set; } = Array.Empty<string>();

    /// <summary>Seconds each image is shown (one full pan), default 8.</summary>
    public double SecondsPerImage { get; init; } = 8;

    /// <summary>Fraction of the image's limiting side the window covers (0 to 1], default 0.75: the rest is room to pan.</summary>
    public double Zoom { get; init; } = 0.75;

    /// <summary>
    /// Loads <paramref name="path"/> (an image file or a folder of them) onto <paramref name="context"/>'s device.
    /// Skipped files are reported to <paramref name="warn"/> (null: standard error).
    /// </summary>
    public static ImageScene Load(GpuContext context, string path, Action<string>? warn = null, double secondsPerImage = 8, double zoom = 0.75)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!(secondsPerImage > 0) || double.IsInfinity(secondsPerImage)) throw new ArgumentOutOfRangeException(nameof(secondsPerImage), secondsPerImage, "Seconds per image must be positive.");
        if (!(zoom > 0 && zoom <= 1)) throw new ArgumentOutOfRangeException(nameof(zoom), zoom, "Zoom must be in (0, 1].");
        warn ??= m => Console.Error.WriteLine($"warning: {m}");
        string[] candidates;
        if (File.Exists(path)) candidates = new[] { path };
        else if (Directory.Exists(path))
            candidates = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => ImageFolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .OrderBy(f => f, StringComparer.Ordinal).ToArray();
        else throw new KilnException($"Images: '{path}' is neither a file nor a folder.");
        var scene = new ImageScene { SecondsPerImage = secondsPerImage, Zoom = zoom };
        var files = new List<string>();
        long bytes = 0;
        try
        {
            foreach (var file in candidates)
            {
                if (files.Count == MaxImages) { warn($"{path}: only the first {MaxImages} images are shown."); break; }
                float[] chw;
                int height, width;
                try { (chw, height, width) = ImageFile.Load(file, MaxPixelsPerImage); }
                catch (KilnException e) { warn($"skipping {e.Message}"); continue; }
                if (bytes + chw.Length * 4L > MaxBytes) { warn($"{path}: images past {file} would take more than {MaxBytes >> 20} MiB; skipped."); break; }
                bytes += chw.Length * 4L;
                scene.images.Add(Tensor.From(context, new Shape(3, height, width), chw, name: "image scene " + Path.GetFileName(file)));
                files.Add(file);
            }
            if (files.Count == 0) throw new KilnException($"Images: no usable PNG or JPEG image at '{path}'.");
        }
        catch
        {
            scene.Dispose();
            throw;
        }
        scene.Files = files;
        return scene;
    }

    static readonly HashSet<string> ImageFolderExtensions = new(Kiln.Data.ImageFolderDataset.Extensions);

    /// <summary>
    /// The window shown at <paramref name="time"/> for a <paramref name="width"/> x <paramref name="height"/> frame:
    /// which image, the window's top-left corner in source pixels and its scale (source pixels per frame pixel).
    /// </summary>
    public (int Image, double OriginX, double OriginY, double Scale) Window(double time, int width, int height)
    {
        double cycles = time / SecondsPerImage;
        double whole = Math.Floor(cycles);
        int index = (int)(((long)whole % images.Count + images.Count) % images.Count);
        double phase = 2 * Math.PI * (cycles - whole);
        var shape = images[index].Shape;
        int sh = shape[1], sw = shape[2];
        double scale = Zoom * Math.Min((double)sw / width, (double)sh / height);
        double roomX = sw - width * scale, roomY = sh - height * scale;
        return (index, roomX * (0.5 - 0.5 * Math.Cos(phase)), roomY * (0.5 + 0.5 * Math.Sin(phase)), scale);
    }

    /// <summary>Records the frame at <paramref name="time"/> into <paramref name="image"/> [3, H, W], RGB in [0, 1].</summary>
    internal void RecordImage(Frame frame, int width, int height, double time, Tensor image)
    {
        if (image.Elements != 3L * width * height) throw new ArgumentException($"{image} does not hold 3 x {width} x {height} values.");
        var (i, ox, oy, scale) = Window(time, width, height);
        var source = images[i];
        frame.Dispatch2D("image_pan", width, height, Frame.Push(width, height, source.Shape[2], source.Shape[1], (float)ox, (float)oy, (float)scale),
            Array.Empty<uint>(), source, image);
    }

    /// <summary>Frees the uploaded images.</summary>
    public void Dispose()
    {
        foreach (var t in images) t.Dispose();
        images.Clear();
    }
}
