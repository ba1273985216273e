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

    [Test]
    public void ACheckpointRebuildsItsNetworkWithoutOtherFiles()
    {
        var preset = PresetCatalog.Get("playground-gauss", new Dictionary<string, string> { ["hidden"] = "5,3", ["activation"] = "relu" });
        var (train, test) = preset.LoadData(seed: 1);
        using var trainer = new Trainer(Context, preset.Build, train, test, preset.Recipe with { Epochs = 1 });
        trainer.Train();
        var path = Path.Combine(Path.GetTempPath(), $"kiln-preset-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, trainer, preset.Architecture);
            var checkpoint = Checkpoint.Read(path);
            var rebuilt = PresetCatalog.FromCheckpoint(checkpoint);
            Assert.That(rebuilt.Arguments, Is.EquivalentTo(preset.Arguments));
            Assert.That(checkpoint.InputShape, Is.EqualTo(new Shape(2)));
            const int n = 7;
            using var net = rebuilt.Build().Compile(Context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, 2), ["target"] = new Shape(n, 1) },
            });
            checkpoint.LoadInto(net);
            var x = Enumerable.Range(0, 2 * n).Select(i => (float)Math.Sin(i)).ToArray();
            net.SetInput("x", x);
            net.SetInput("target", new float[n]);
            net.Run();
            Assert.That(Reference.RelativeError.MaxRelative(net.GetOutput("y"), trainer.Predict(x, n)), Is.LessThan(Tolerances.Forward));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
