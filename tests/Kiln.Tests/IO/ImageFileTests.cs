using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.IO;

public sealed class ImageFileTests
{
    string folder = "";

    [SetUp]
    public void MakeFolder() => folder = Directory.CreateTempSubdirectory("kiln-images-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    static float[] Ramp(int channels, int h, int w) =>
        Enumerable.Range(0, channels * h * w).Select(i => (i * 37 % 256) / 255f).ToArray();

    [Test]
    public void RgbPng_RoundTripsExactlyAt8Bits()
    {
        var path = Path.Combine(folder, "sub", "rgb.png");
        var image = Ramp(3, 5, 7);
        ImageFile.Save(path, image, 3, 5, 7);
        Assert.That(ImageFile.Identify(path), Is.EqualTo((5, 7)));
        var (chw, h, w) = ImageFile.Load(path);
        Assert.That((h, w), Is.EqualTo((5, 7)));
        Assert.That(chw, Is.EqualTo(image).Within(1e-6f), "values that are multiples of 1/255 survive PNG unchanged");
    }

    [Test]
    public void GreyPng_LoadsAsThreeEqualChannels_ValuesClipped()
    {
        var path = Path.Combine(folder, "grey.png");
        var grey = new[] { -1f, 0f, 0.5f, 2f, float.NaN, 1f };
        ImageFile.Save(path, grey, 1, 2, 3);
        var (chw, _, _) = ImageFile.Load(path);
        var expected = new[] { 0f, 0f, 128 / 255f, 1f, 0f, 1f };
        for (int c = 0; c < 3; c++) Assert.That(chw.Skip(c * 6).Take(6), Is.EqualTo(expected).Within(1e-6f));
    }

    [Test]
    public void Grid_PlacesTilesInRowsAndColumns_ShowingRgbOfWiderTensors()
    {
        var path = Path.Combine(folder, "grid.png");
        float[] Solid(int channels, float r, float g, float b) =>
            Enumerable.Range(0, channels * 4).Select(i => (i / 4) switch { 0 => r, 1 => g, 2 => b, _ => 1f }).ToArray();
        var rows = new List<IReadOnlyList<float[]?>>
        {
            new[] { Solid(4, 1, 0, 0), Solid(3, 0, 1, 0), Solid(1, 0.2f, 0, 0) },
            new[] { Solid(9, 0, 0, 1), null },
        };
        ImageFile.SaveGrid(path, rows, 2, 2, gap: 1);
        var (chw, h, w) = ImageFile.Load(path);
        Assert.That((h, w), Is.EqualTo((2 * 3 + 1, 3 * 3 + 1)));
        float Pixel(int c, int y, int x) => chw[c * h * w + y * w + x];
        Assert.That((Pixel(0, 1, 1), Pixel(1, 1, 1), Pixel(2, 1, 1)), Is.EqualTo((1f, 0f, 0f)), "RGB + mask shows RGB");
        Assert.That((Pixel(0, 2, 5), Pixel(1, 2, 5), Pixel(2, 2, 5)), Is.EqualTo((0f, 1f, 0f)));
        Assert.That(Pixel(1, 1, 8), Is.EqualTo(51 / 255f).Within(1e-6f), "one channel shows grey");
        Assert.That((Pixel(0, 4, 1), Pixel(2, 5, 2)), Is.EqualTo((0f, 1f)), "nine channels show the first three");
        Assert.That(Pixel(0, 0, 0), Is.EqualTo(128 / 255f).Within(1e-6f), "grey border");
        Assert.That(Pixel(0, 4, 4), Is.EqualTo(128 / 255f).Within(1e-6f), "a null tile stays grey");
    }

    [Test]
    public void Jpeg_LoadsAsRgb()
    {
        var path = Path.Combine(folder, "photo.jpg");
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(16, 8, new SixLabors.ImageSharp.PixelFormats.Rgb24(200, 100, 50)))
            SixLabors.ImageSharp.ImageExtensions.SaveAsJpeg(image, path);
        var (chw, h, w) = ImageFile.Load(path);
        Assert.That((h, w), Is.EqualTo((8, 16)));
        Assert.That(chw[0], Is.EqualTo(200 / 255f).Within(4 / 255f), "JPEG is lossy: within 4 levels on a flat colour");
        Assert.That(chw[8 * 16 * 2], Is.EqualTo(50 / 255f).Within(4 / 255f));
    }

    [Test]
    public void NotAnImage_MissingFile_TooLarge_NameTheFile()
    {
        var junk = Path.Combine(folder, "junk.png");
        File.WriteAllText(junk, "this is not a PNG");
        Assert.That(Assert.Throws<KilnException>(() => ImageFile.Load(junk))!.Message, Does.StartWith(junk));
        var missing = Path.Combine(folder, "missing.png");
        Assert.That(Assert.Throws<KilnException>(() => ImageFile.Load(missing))!.Message, Does.StartWith(missing));
        var big = Path.Combine(folder, "big.png");
        ImageFile.Save(big, new float[3 * 20 * 20], 3, 20, 20);
        Assert.That(Assert.Throws<KilnException>(() => ImageFile.Load(big, maxPixels: 399))!.Message, Does.StartWith(big).And.Contain("more than 399 pixels"));
        Assert.Throws<ArgumentException>(() => ImageFile.Save(big, new float[10], 3, 2, 2));
        Assert.Throws<ArgumentException>(() => ImageFile.Save(big, new float[8], 2, 2, 2));
    }
}
