using Kiln.Data;
using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class ImageFolderDatasetTests
{
    string folder = "";
    readonly List<string> warnings = new();

    [SetUp]
    public void MakeFolder()
    {
        folder = Directory.CreateTempSubdirectory("kiln-folder-").FullName;
        warnings.Clear();
    }

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    /// <summary>Pixel (c, y, x) = (c * 97 + y * 13 + x * 3) % 256 / 255: every position distinguishable.</summary>
    static float[] Pattern(int h, int w) =>
        Enumerable.Range(0, 3 * h * w).Select(i => ((i / (h * w)) * 97 + (i % (h * w)) / w * 13 + i % w * 3) % 256 / 255f).ToArray();

    string Png(string name, int h, int w)
    {
        var path = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageFile.Save(path, Pattern(h, w), 3, h, w);
        return path;
    }

    [Test]
    public void CropsAreWindowsOfTheImage_FlippedSometimes_SameSeedSameCrop()
    {
        Png("a/deep/one.png", 20, 30);
        var data = ImageFolderDataset.Open(folder, 8, warn: warnings.Add);
        Assert.That((data.Count, data.InputShape, data.ClassCount, data.Label(0)), Is.EqualTo((1, new Shape(3, 8, 8), 0, -1)));
        var full = Pattern(20, 30);
        float[] input = new float[192], target = new float[192];
        int flipped = 0;
        for (int trial = 0; trial < 40; trial++)
        {
            var random = new Random(trial);
            data.Read(0, input, target, random);
            var r = new Random(trial);
            int y0 = r.Next(13), x0 = r.Next(23);
            bool mirror = r.Next(2) == 1;
            flipped += mirror ? 1 : 0;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++)
                        Assert.That(target[c * 64 + y * 8 + x], Is.EqualTo(full[c * 600 + (y0 + y) * 30 + x0 + (mirror ? 7 - x : x)]).Within(1e-6f));
            Assert.That(input, Is.EqualTo(target));
        }
        Assert.That(flipped, Is.InRange(8, 32));
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void SmallLargeAndUndecodableFiles_AreSkippedWithAWarning()
    {
        Png("good.png", 16, 16);
        Png("small.png", 4, 16);
        Png("large.png", 40, 40);
        File.WriteAllText(Path.Combine(folder, "garbage.jpg"), "no JPEG here");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "ignored: not an image extension");
        var data = ImageFolderDataset.Open(folder, 8, warn: warnings.Add, maxPixels: 1000);
        Assert.That(data.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "good.png" }));
        Assert.That(warnings, Has.Count.EqualTo(3));
        Assert.That(warnings, Has.One.Contains("small.png").And.Contains("smaller than the 8x8 crop"));
        Assert.That(warnings, Has.One.Contains("large.png").And.Contains("more than 1000 pixels"));
        Assert.That(warnings, Has.One.Contains("garbage.jpg"));
    }

    [Test]
    public void FileThatFailsToDecodeLater_IsWarnedOnce_AndAnotherImageIsRead()
    {
        var bad = Png("a.png", 16, 16);
        Png("b.png", 16, 16);
        var data = ImageFolderDataset.Open(folder, 8, warn: warnings.Add);
        Assert.That(data.Count, Is.EqualTo(2));
        var bytes = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, bytes[..40]); // the header survives, the pixel data does not
        var target = new float[192];
        data.Read(0, new float[192], target, new Random(1));
        data.Read(0, new float[192], new float[192], new Random(1));
        Assert.That(warnings, Has.Count.EqualTo(1).And.One.Contains("a.png"));
        Assert.That(target.Max(), Is.GreaterThan(0f), "b.png was read instead");
    }

    [Test]
    public void EmptyOrMissingFolder_OrNothingUsable_IsAClearError()
    {
        Assert.That(Assert.Throws<KilnException>(() => ImageFolderDataset.Open(folder, 8))!.Message, Does.Contain("no PNG or JPEG files"));
        Assert.That(Assert.Throws<KilnException>(() => ImageFolderDataset.Open(Path.Combine(folder, "nope"), 8))!.Message, Does.Contain("does not exist"));
        Png("tiny.png", 2, 2);
        Assert.That(Assert.Throws<KilnException>(() => ImageFolderDataset.Open(folder, 8, warn: warnings.Add))!.Message, Does.Contain("none of its 1"));
    }

    [Test]
    public void Split_PutsEveryKthFileInTheTestSet()
    {
        for (int i = 0; i < 10; i++) Png($"img{i}.png", 8, 8);
        var (train, test) = ImageFolderDataset.OpenSplit(folder, 8, testFraction: 0.25, warn: warnings.Add);
        Assert.That(test.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "img0.png", "img4.png", "img8.png" }));
        Assert.That(train.Count, Is.EqualTo(7));
        Assert.That(train.Files.Intersect(test.Files), Is.Empty);
    }

    [Test]
    public void ExamplesPerImage_CropTheSameImageSeveralTimes()
    {
        Png("a.png", 8, 8);
        Png("b.png", 16, 16);
        var data = ImageFolderDataset.Open(folder, 8, flips: false, warn: warnings.Add, examplesPerImage: 3);
        Assert.That(data.Count, Is.EqualTo(6));
        float[] first = new float[192], third = new float[192], fourth = new float[192];
        data.Read(0, new float[192], first, new Random(1));
        data.Read(2, new float[192], third, new Random(2));
        data.Read(3, new float[192], fourth, new Random(1));
        Assert.That(third, Is.EqualTo(first), "an 8x8 image has one 8x8 crop");
        Assert.That(fourth, Is.Not.EqualTo(first), "example 3 is the second image");
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Read(6, new float[192], new float[192], new Random()));
    }
}
