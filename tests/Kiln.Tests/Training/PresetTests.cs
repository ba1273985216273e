using Kiln.Training;
using Kiln.Training.Presets;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>The presets of MODELS.md: the playground ones reach their accuracy targets with their own recipes.</summary>
public sealed class PresetTests : GpuTest
{
    [TestCase("playground-circle", 0.99)]
    [TestCase("playground-xor", 0.99)]
    [TestCase("playground-gauss", 0.99)]
    [TestCase("playground-spiral", 0.97)]
    public void PlaygroundPresetsReachTheirTestAccuracy(string name, double target)
    {
        var preset = PresetCatalog.Get(name);
        var (train, test) = preset.LoadData(seed: 0);
        Assert.That((train.Count, test.Count), Is.EqualTo((250, 250)));
        using var trainer = new Trainer(Context, preset.Build, train, test, preset.Recipe);
        var history = trainer.Train();
        var last = history[^1];
        TestContext.Progress.WriteLine($"{name}: {history.Count} epochs, train loss {last.TrainLoss:0.0000}, test loss {last.TestLoss:0.0000}, test accuracy {last.TestAccuracy:P1}, {history.Sum(h => h.Seconds):0.0} s training");
        Assert.That(last.TestAccuracy, Is.GreaterThanOrEqualTo(target));
    }

    [Test]
    public void APresetTrainedTwiceWithTheSameSeedGivesTheSameMetrics()
    {
        IReadOnlyList<object> Run()
        {
            var preset = PresetCatalog.Get("playground-xor", new Dictionary<string, string> { ["noise"] = "20" });
            var (train, test) = preset.LoadData(seed: 4);
            using var trainer = new Trainer(Context, preset.Build, train, test, preset.Recipe with { Epochs = 3, Seed = 4 });
            return trainer.Train().Select(m => (object)(m.TrainLoss, m.TestLoss, m.TestAccuracy)).ToList();
        }
        Assert.That(Run(), Is.EqualTo(Run()));
    }

    [Test]
    public void ArgumentsAreCheckedAndRecordedForCheckpoints()
    {
        var e = Assert.Throws<ArgumentException>(() => PresetCatalog.Get("fashion-ae", new Dictionary<string, string> { ["latnet"] = "3" }));
        Assert.That(e!.Message, Does.Contain("unknown argument 'latnet'").And.Contain("latent"));
        Assert.That(() => PresetCatalog.Get("nope"), Throws.ArgumentException.With.Message.Contains("playground-spiral"));
        var preset = PresetCatalog.Get("fashion-ae2d");
        Assert.That(preset.Arguments["latent"], Is.EqualTo("2"));
        Assert.That(preset.Architecture[Checkpoint.InputShapeKey], Is.EqualTo("1,28,28"));
    }
}
