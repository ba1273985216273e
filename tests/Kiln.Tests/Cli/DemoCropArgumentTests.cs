using System.Text.Json;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`kiln demo denoise --train-crop N --train-batch B`: passed to the demo, recorded in stats.json, bad values refused clearly.</summary>
public sealed class DemoCropArgumentTests
{
    [Test]
    public void TrainCropAndBatch_AreUsed_AndRecordedInTheStatistics()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var run = CliRun.Run("demo", "denoise", "--size", "32x32", "--frames", "1", "--out", dir, "--weights", "none", "--train-crop", "16", "--train-batch", "3");
            Assert.That(run.Code, Is.Zero, run.Stderr);
            Assert.That(run.Stdout, Does.Contain("on 3 crop(s) of 16x16"));
            using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "stats.json")));
            Assert.That(stats.RootElement.GetProperty("training_crop").GetInt32(), Is.EqualTo(16));
            Assert.That(stats.RootElement.GetProperty("training_batch").GetInt32(), Is.EqualTo(3));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestCase("--train-crop", "48", "48", "32x32")]
    [TestCase("--train-crop", "20", "20", "multiple of 16")]
    [TestCase("--train-crop", "big", "--train-crop", "multiple of 16")]
    [TestCase("--train-batch", "0", "--train-batch", "positive integer")]
    public void BadValues_FailWithAMessage(string option, string value, string mention, string mentionToo)
    {
        var run = CliRun.Run("demo", "denoise", "--size", "32x32", "--frames", "1", "--weights", "none", option, value);
        Assert.That(run.Code, Is.Not.Zero);
        Assert.That(run.Stderr, Does.Contain(mention).And.Contain(mentionToo));
    }

    [Test]
    public void TrainCrop_AppliesToTheDenoiserOnly()
    {
        var run = CliRun.Run("demo", "inpaint", "--frames", "1", "--train-crop", "16");
        Assert.That(run.Code, Is.Not.Zero);
        Assert.That(run.Stderr, Does.Contain("denoise demo only"));
    }
}
