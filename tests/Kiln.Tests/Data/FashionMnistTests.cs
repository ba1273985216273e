using System.Buffers.Binary;
using System.IO.Compression;
using Kiln.Data;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class FashionMnistTests
{
    string folder = "";

    [SetUp]
    public void MakeFolder() => folder = Directory.CreateTempSubdirectory("kiln-fmnist-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    static byte[] Idx(int[] dims, byte[] data, byte type = 8)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    void Write(string name, byte[] bytes, bool gzip = true)
    {
        if (!gzip) { File.WriteAllBytes(Path.Combine(folder, name), bytes); return; }
        using var file = File.Create(Path.Combine(folder, name + ".gz"));
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    /// <summary>A tiny valid data set: 3 training and 2 test images, pixel (i, j) of image n = (n * 7 + i + j) % 256.</summary>
    void WriteTiny(bool gzip = true)
    {
        foreach (var (prefix, n) in new[] { ("train", 3), ("t10k", 2) })
        {
            var pixels = new byte[n * 784];
            for (int k = 0; k < n; k++)
                for (int i = 0; i < 28; i++)
                    for (int j = 0; j < 28; j++) pixels[k * 784 + i * 28 + j] = (byte)((k * 7 + i + j) % 256);
            Write($"{prefix}-images-idx3-ubyte", Idx(new[] { n, 28, 28 }, pixels), gzip);
            Write($"{prefix}-labels-idx1-ubyte", Idx(new[] { n }, Enumerable.Range(0, n).Select(k => (byte)(9 - k)).ToArray()), gzip);
        }
    }

    [TestCase(true), TestCase(false)]
    public void TinyFiles_LoadAsPixelsOver255_WithLabels(bool gzip)
    {
        WriteTiny(gzip);
        var (train, test) = FashionMnist.Load(folder);
        Assert.That((train.Count, test.Count, train.ClassCount), Is.EqualTo((3, 2, 10)));
        Assert.That(train.InputShape, Is.EqualTo(new Shape(1, 28, 28)));
        Assert.That(Enumerable.Range(0, 3).Select(train.Label), Is.EqualTo(new[] { 9, 8, 7 }));
        var input = new float[784];
        var target = new float[784];
        train.Read(2, input, target, new Random(0));
        Assert.That(target[5 * 28 + 3], Is.EqualTo((2 * 7 + 5 + 3) / 255f));
        Assert.That(input, Is.EqualTo(target), "autoencoder: input = target");
    }

    [Test]
    public void Denoising_AddsClippedNoiseFromTheRandom_TargetStaysClean()
    {
        WriteTiny();
        var (train, _) = FashionMnist.Load(folder, FashionMnistMode.Denoising, 0.3);
        float[] a = new float[784], b = new float[784], target = new float[784];
        train.Read(1, a, target, new Random(5));
        train.Read(1, b, new float[784], new Random(5));
        Assert.That(a, Is.EqualTo(b), "the same Random seed gives the same noise");
        Assert.That(a.All(v => v >= 0 && v <= 1), Is.True, "clipped to [0, 1]");
        Assert.That(target[28 + 1], Is.EqualTo((7 + 2) / 255f), "target is the clean image");
        double meanAbs = a.Zip(target, (x, t) => Math.Abs(x - t)).Average();
        Assert.That(meanAbs, Is.InRange(0.1, 0.3), "|N(0, 0.3)| averages 0.24 before clipping");
    }

    [TestCase("train-images-idx3-ubyte", "missing")]
    [TestCase("t10k-labels-idx1-ubyte", "missing")]
    public void MissingFile_IsNamed(string name, string reason)
    {
        WriteTiny();
        File.Delete(Path.Combine(folder, name + ".gz"));
        var e = Assert.Throws<KilnException>(() => FashionMnist.Load(folder));
        Assert.That(e!.Message, Does.Contain(name).And.Contain(reason));
    }

    [Test]
    public void BadMagic_Truncated_WrongSize_CountMismatch_BadLabel_NameTheFile()
    {
        void Expect(string name, byte[] bytes, string reason)
        {
            WriteTiny();
            Write(name, bytes);
            var e = Assert.Throws<KilnException>(() => FashionMnist.Load(folder));
            Assert.That(e!.Message, Does.Contain(name).And.Contain(reason), e.Message);
        }
        var good = Idx(new[] { 3, 28, 28 }, new byte[3 * 784]);
        var badMagic = (byte[])good.Clone();
        badMagic[0] = 1;
        Expect("train-images-idx3-ubyte", badMagic, "not an IDX file");
        Expect("train-images-idx3-ubyte", good[..(good.Length - 10)], "truncated");
        Expect("train-images-idx3-ubyte", Idx(new[] { 3, 27, 28 }, new byte[3 * 27 * 28]), "expected [count, 28, 28]");
        Expect("train-images-idx3-ubyte", Idx(new[] { 3, 28, 28 }, new byte[3 * 784], type: 0x0D), "not unsigned bytes");
        Expect("train-labels-idx1-ubyte", Idx(new[] { 4 }, new byte[4]), "4 labels but train-images-idx3-ubyte.gz has 3 images");
        Expect("t10k-labels-idx1-ubyte", Idx(new[] { 2 }, new byte[] { 1, 10 }), "label 10 of example 1");
        Expect("t10k-labels-idx1-ubyte", Idx(new[] { 2, 1 }, new byte[2]), "expected [count]");
    }

    [Test]
    public void MissingFolder_SaysSo()
    {
        var e = Assert.Throws<KilnException>(() => FashionMnist.Load(Path.Combine(folder, "nowhere")));
        Assert.That(e!.Message, Does.Contain("nowhere").And.Contain("does not exist"));
    }

    [Test, Category(TestTools.Category)]
    public void RealFashionMnist_60000And10000_BalancedClasses()
    {
        TestTools.Require(File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")),
            "Debian's dataset-fashion-mnist is not installed");
        var (train, test) = FashionMnist.Load();
        Assert.That((train.Count, test.Count), Is.EqualTo((60000, 10000)));
        var counts = new int[10];
        for (int i = 0; i < train.Count; i++) counts[train.Label(i)]++;
        Assert.That(counts, Is.All.EqualTo(6000), "Fashion-MNIST has 6000 training images per class");
        float[] input = new float[784], target = new float[784];
        test.Read(0, input, target, new Random(0));
        Assert.That(target.Max(), Is.InRange(0.5f, 1f));
        Assert.That(target.Min(), Is.EqualTo(0f));
        Assert.That(test.Label(0), Is.EqualTo(9), "the first test image is an ankle boot");
    }
}
