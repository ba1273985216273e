using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>DenoisingDemo.TrainingCropFor: the crop side and batch the demo trains on (no GPU needed).</summary>
public sealed class TrainingCropChoiceTests
{
    [TestCase(1280, 720, 128, 4)]  // the default: 4 crops of 128
    [TestCase(256, 128, 128, 2)]   // no more pixels than the frame: 2 crops
    [TestCase(192, 192, 128, 2)]
    [TestCase(64, 32, 32, 2)]      // the crop shrinks to the frame's smaller side
    [TestCase(128, 128, 0, 1)]     // one crop of the whole frame is whole-frame training
    [TestCase(64, 64, 0, 1)]
    [TestCase(16, 16, 0, 1)]
    public void Defaults_FitTheFrame(int width, int height, int crop, int batch) =>
        Assert.That(DenoisingDemo.TrainingCropFor(width, height, null, null), Is.EqualTo((crop, batch)));

    [TestCase(1280, 720, 64, 8, 64, 8)]
    [TestCase(128, 128, 32, null, 32, 4)]
    [TestCase(128, 128, 64, null, 64, 4)]
    [TestCase(256, 128, null, 6, 128, 6)]  // an explicit batch is kept
    [TestCase(1280, 720, 0, null, 0, 1)]
    [TestCase(1280, 720, 0, 1, 0, 1)]
    [TestCase(128, 128, 128, 1, 0, 1)]
    public void AskedFor_IsKept(int width, int height, int? crop, int? batch, int expectedCrop, int expectedBatch) =>
        Assert.That(DenoisingDemo.TrainingCropFor(width, height, crop, batch), Is.EqualTo((expectedCrop, expectedBatch)));

    [TestCase(64, 32, 48, null, "48", "64x32")]       // larger than the smaller side
    [TestCase(64, 64, 24, null, "24", "multiple of 16")]
    [TestCase(64, 64, -16, null, "-16", "multiple of 16")]
    [TestCase(64, 64, 0, 3, "3", "whole-frame")]
    [TestCase(64, 64, 64, 2, "2", "64x64")]           // 2 copies of the whole frame
    [TestCase(64, 64, 16, 0, "batch", "1 to 64")]
    [TestCase(64, 64, 16, 65, "batch", "1 to 64")]
    public void BadRequests_NameWhatIsWrong(int width, int height, int? crop, int? batch, string mention, string mentionToo)
    {
        var e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => DenoisingDemo.TrainingCropFor(width, height, crop, batch))!;
        Assert.That(e.Message, Does.Contain(mention).And.Contain(mentionToo));
    }
}
