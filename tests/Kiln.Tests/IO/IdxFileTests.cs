using Kiln.IO;
using NUnit.Framework;

namespace Kiln.Tests.IO;

public sealed class IdxFileTests
{
    const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    static (int[], byte[]) Parse(params byte[] bytes) => IdxFile.Read(new MemoryStream(bytes), "test.idx");

    [Test]
    public void ReadsDimensionsAndBytes()
    {
        var (shape, data) = Parse(0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6);
        Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(data, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
    }

    [TestCase(new byte[] { 0, 0 }, "too short")]
    [TestCase(new byte[] { 1, 2, 8, 1 }, "not an IDX file")]
    [TestCase(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0 }, "not unsigned bytes")]
    [TestCase(new byte[] { 0, 0, 8, 1, 0, 0 }, "truncated in the dimensions")]
    [TestCase(new byte[] { 0, 0, 8, 1, 0, 0, 0, 4, 1, 2 }, "truncated")]
    [TestCase(new byte[] { 0, 0, 8, 2, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff }, "more than")]
    public void MalformedFiles_SayWhatIsWrong(byte[] bytes, string reason)
    {
        var e = Assert.Throws<KilnException>(() => IdxFile.Read(new MemoryStream(bytes), "test.idx"));
        Assert.That(e!.Message, Does.StartWith("test.idx").And.Contain(reason));
    }

    [Test, Category(TestTools.Category)]
    public void ReadsTheRealFashionMnistTestSet()
    {
        var images = Path.Combine(FashionMnist, "t10k-images-idx3-ubyte.gz");
        TestTools.Require(File.Exists(images), "Debian's dataset-fashion-mnist is not installed");
        var (shape, pixels) = IdxFile.Read(images);
        var (labelShape, labels) = IdxFile.Read(Path.Combine(FashionMnist, "t10k-labels-idx1-ubyte.gz"));
        Assert.That(shape, Is.EqualTo(new[] { 10000, 28, 28 }));
        Assert.That(labelShape, Is.EqualTo(new[] { 10000 }));
        Assert.That(labels.Distinct().OrderBy(l => l), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (byte)i)));
        Assert.That(labels.Count(l => l == 0), Is.EqualTo(1000), "the test set is balanced: 1000 per class");
        Assert.That(pixels.Average(p => (double)p), Is.InRange(60.0, 90.0), "mean pixel of Fashion-MNIST is about 73");
    }
}
