using Kiln.Data;
using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class ProceduralImagesTests
{
    static float[] Image(ProceduralImages images, int index, int seed)
    {
        var target = new float[images.TargetShape.Elements];
        images.Read(index, new float[target.Length], target, new Random(seed));
        return target;
    }

    [Test]
    public void ImagesAreAFunctionOfSeedAndIndex_InRange_AndTextured()
    {
        var images = new ProceduralImages(20, 32, 32, seed: 1);
        Assert.That(Image(images, 3, 0), Is.EqualTo(Image(images, 3, 99)), "the Random passed is not used");
        Assert.That(Image(new ProceduralImages(20, 32, 32, seed: 1), 3, 0), Is.EqualTo(Image(images, 3, 0)));
        Assert.That(Image(images, 4, 0), Is.Not.EqualTo(Image(images, 3, 0)));
        Assert.That(Image(new ProceduralImages(20, 32, 32, seed: 2), 3, 0), Is.Not.EqualTo(Image(images, 3, 0)));
        for (int i = 0; i < images.Count; i++)
        {
            var img = Image(images, i, 0);
            Assert.That(img, Is.All.InRange(0f, 1f));
            double mean = img.Average(), sd = Math.Sqrt(img.Average(v => (v - mean) * (v - mean)));
            Assert.That(sd, Is.GreaterThan(0.03), $"image {i} is not flat");
            // horizontal neighbours differ: some high-frequency content
            double edges = 0;
            for (int p = 0; p < img.Length - 1; p++) if (p % 32 != 31) edges += Math.Abs(img[p + 1] - img[p]);
            Assert.That(edges / img.Length, Is.GreaterThan(0.005), $"image {i} has edges or texture");
        }
    }

    [Test]
    public void AGridOfThemSaves()
    {
        var images = new ProceduralImages(6, 24, 24);
        var path = Path.Combine(Path.GetTempPath(), $"kiln-procedural-{Guid.NewGuid():N}.png");
        try
        {
            ImageFile.SaveGrid(path, Enumerable.Range(0, 2).Select(r => (IReadOnlyList<float[]?>)Enumerable.Range(0, 3).Select(c => (float[]?)Image(images, r * 3 + c, 0)).ToList()).ToList(), 24, 24);
            Assert.That(ImageFile.Identify(path), Is.EqualTo((2 * 26 + 2, 3 * 26 + 2)));
        }
        finally { File.Delete(path); }
    }
}
