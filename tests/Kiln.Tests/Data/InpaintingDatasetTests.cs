using Kiln.Data;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class InpaintingDatasetTests
{
    [Test]
    public void Input_IsHoledRgbThenMask_TargetIsClean()
    {
        var images = new ProceduralImages(8, 32, 48, seed: 2);
        var data = new InpaintingDataset(images, boxProbability: 0.5);
        Assert.That(data.InputShape, Is.EqualTo(new Shape(4, 32, 48)), "RGB + mask, the InpaintUNet's 4 input channels");
        Assert.That(data.TargetShape, Is.EqualTo(new Shape(3, 32, 48)));
        int plane = 32 * 48;
        float[] input = new float[4 * plane], target = new float[3 * plane], clean = new float[3 * plane];
        var random = new Random(9);
        for (int i = 0; i < 8; i++)
        {
            data.Read(i, input, target, random);
            images.Read(i, new float[3 * plane], clean, new Random(0));
            Assert.That(target, Is.EqualTo(clean));
            var mask = input.AsSpan(3 * plane).ToArray();
            Assert.That(mask, Is.All.EqualTo(0f).Or.EqualTo(1f));
            Assert.That(mask.Average(), Is.InRange(0.003, 0.8));
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < plane; p++)
                    Assert.That(input[c * plane + p], Is.EqualTo(mask[p] == 1f ? 0f : clean[c * plane + p]));
        }
    }

    [Test]
    public void SameRandomSeed_SameMask()
    {
        var data = new InpaintingDataset(new ProceduralImages(2, 16, 16));
        float[] a = new float[4 * 256], b = new float[4 * 256];
        data.Read(1, a, new float[768], new Random(3));
        data.Read(1, b, new float[768], new Random(3));
        Assert.That(a, Is.EqualTo(b));
    }

    [Test]
    public void NonRgbSource_IsRejected()
    {
        var (train, _) = PlaygroundData.Create(PlaygroundKind.Xor);
        Assert.Throws<ArgumentException>(() => new InpaintingDataset(train));
    }
}
