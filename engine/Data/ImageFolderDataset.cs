using Kiln.IO;

namespace Kiln.Data;

/// <summary>
/// The PNG and JPEG files under a folder (recursively, in ordinal path order) as random square crops with random
/// horizontal flips: input and target are the same [3, crop, crop] RGB crop in [0, 1]. Files that cannot be
/// identified or decoded, are larger than the pixel limit, or smaller than the crop are skipped with a warning,
/// never a crash. Decoded images are kept as 8-bit RGB in a least-recently-used cache of bounded size.
/// Safe to read from several threads.
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    /// <summary>File extensions read (case-insensitive).</summary>
    public static readonly IReadOnlyList<string> Extensions = new[] { ".png", ".jpg", ".jpeg" };

    readonly string[] files;
    readonly int crop, perImage;
    readonly bool flips;
    readonly long maxPixels;
    readonly Action<string> warn;
    readonly RgbCache cache;
    readonly int[] broken; // 1 once a file has failed to decode
    int brokenCount;

    ImageFolderDataset(string[] files, int crop, int perImage, bool flips, long maxPixels, long cacheBytes, Action<string> warn)
    {
        if (perImage < 1) throw new ArgumentOutOfRangeException(nameof(perImage), perImage, "At least one example per image.");
        this.files = files;
        this.crop = crop;
        this.perImage = perImage;
        this.flips = flips;
        this.maxPixels = maxPixels;
        this.warn = warn;
        cache = new RgbCache(cacheBytes);
        broken = new int[files.Length];
        InputShape = TargetShape = new Shape(3, crop, crop);
    }

    /// <summary>
    /// The usable images under <paramref name="folder"/>, cropped to <paramref name="cropSize"/> squares and flipped
    /// at random when <paramref name="flips"/>, <paramref name="examplesPerImage"/> examples (crops) per image per
    /// epoch (example i crops image i / examplesPerImage). Skipped files are reported to <paramref name="warn"/> (null: standard
    /// error). Images over <paramref name="maxPixels"/> are skipped; decoded images are cached up to
    /// <paramref name="cacheBytes"/>. A missing folder, or one without a usable image, is a <see cref="KilnException"/>.
    /// </summary>
    public static ImageFolderDataset Open(string folder, int cropSize, bool flips = true, Action<string>? warn = null,
        long maxPixels = ImageFile.DefaultMaxPixels, long cacheBytes = 1L << 30, int examplesPerImage = 1)
    {
        var w = warn ?? (m => Console.Error.WriteLine($"warning: {m}"));
        return new ImageFolderDataset(Usable(folder, cropSize, maxPixels, w), cropSize, examplesPerImage, flips, maxPixels, cacheBytes, w);
    }

    /// <summary>
    /// As <see cref="Open"/>, the usable files split into training and test sets: every file whose position in the
    /// sorted list is a multiple of round(1 / <paramref name="testFraction"/>) goes to the test set (at least one).
    /// Needs two usable images.
    /// </summary>
    public static (ImageFolderDataset Train, ImageFolderDataset Test) OpenSplit(string folder, int cropSize, double testFraction = 0.1,
        bool flips = true, Action<string>? warn = null, long maxPixels = ImageFile.DefaultMaxPixels, long cacheBytes = 1L << 30, int examplesPerImage = 1)
    {
        if (!(testFraction > 0 && testFraction < 1)) throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be in (0, 1).");
        var w = warn ?? (m => Console.Error.WriteLine($"warning: {m}"));
        var all = Usable(folder, cropSize, maxPixels, w);
        if (all.Length < 2) throw new KilnException($"{folder}: {all.Length} usable image; a training and a test set need at least 2.");
        int every = Math.Max(2, (int)Math.Round(1 / testFraction));
        var test = all.Where((_, i) => i % every == 0).ToArray();
        var train = all.Where((_, i) => i % every != 0).ToArray();
        return (new ImageFolderDataset(train, cropSize, examplesPerImage, flips, maxPixels, cacheBytes / 2, w),
            new ImageFolderDataset(test, cropSize, examplesPerImage, flips, maxPixels, cacheBytes / 2, w));
    }

    /// <summary>The image files used, in order.</summary>
    public IReadOnlyList<string> Files => files;

    public int Count => files.Length * perImage;
    public Shape InputShape { get; }
    public Shape TargetShape { get; }
    public int ClassCount => 0;
    public int Label(int index)
    {
        DatasetChecks.Index(this, index);
        return -1;
    }

    /// <summary>
    /// A crop of image <paramref name="index"/>: draws the top row, then the left column, then (with flips) whether
    /// to mirror, from <paramref name="random"/>. Should the file fail to decode now, it is reported once and the next
    /// decodable image is read instead.
    /// </summary>
    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        var (rgb, height, width) = Decoded(index / perImage);
        int y0 = random.Next(height - crop + 1), x0 = random.Next(width - crop + 1);
        bool mirror = flips && random.Next(2) == 1;
        int plane = crop * crop;
        for (int y = 0; y < crop; y++)
            for (int x = 0; x < crop; x++)
            {
                int sx = x0 + (mirror ? crop - 1 - x : x), o = ((y0 + y) * width + sx) * 3;
                for (int c = 0; c < 3; c++) target[c * plane + y * crop + x] = rgb[o + c] / 255f;
            }
        target[..(3 * plane)].CopyTo(input);
    }

    (byte[] Rgb, int Height, int Width) Decoded(int index)
    {
        for (int tries = 0; tries < files.Length; tries++, index = (index + 1) % files.Length)
        {
            if (Volatile.Read(ref broken[index]) != 0) continue;
            if (cache.TryGet(index, out var hit)) return hit;
            try
            {
                var image = ImageFile.LoadRgb24(files[index], maxPixels);
                if (image.Height < crop || image.Width < crop) throw new KilnException($"{files[index]}: decoded as {image.Width}x{image.Height}, smaller than the {crop}x{crop} crop.");
                cache.Add(index, image);
                return image;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (Interlocked.Exchange(ref broken[index], 1) == 0)
                {
                    Interlocked.Increment(ref brokenCount);
                    warn($"skipping {files[index]}: it failed to decode ({e.Message})");
                }
            }
        }
        throw new KilnException($"None of the {files.Length} images of this data set decodes any more ({brokenCount} failed).");
    }

    static string[] Usable(string folder, int crop, long maxPixels, Action<string> warn)
    {
        if (crop <= 0) throw new ArgumentOutOfRangeException(nameof(crop), crop, "The crop size must be positive.");
        if (!Directory.Exists(folder)) throw new KilnException($"{folder}: image folder does not exist.");
        var candidates = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (candidates.Count == 0) throw new KilnException($"{folder}: no PNG or JPEG files ({string.Join(", ", Extensions)}) in it or its subfolders.");
        var usable = new List<string>();
        foreach (var f in candidates)
        {
            try
            {
                var (h, w) = ImageFile.Identify(f);
                if ((long)h * w > maxPixels) warn($"skipping {f}: {w}x{h} is more than {maxPixels} pixels");
                else if (h < crop || w < crop) warn($"skipping {f}: {w}x{h} is smaller than the {crop}x{crop} crop");
                else usable.Add(f);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                warn($"skipping {f}: {e.Message}");
            }
        }
        if (usable.Count == 0) throw new KilnException($"{folder}: none of its {candidates.Count} PNG/JPEG files is usable (see the warnings).");
        return usable.ToArray();
    }
}
