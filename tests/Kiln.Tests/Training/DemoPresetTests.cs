using Kiln.Data.Scenes;
using Kiln.Realtime;
using Kiln.Training;
using Kiln.Training.Presets;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>The demo presets train the demos' own networks on the demos' inputs, so their checkpoints load into the demos.</summary>
public sealed class DemoPresetTests : GpuTest
{
    string dir = "";

    [SetUp]
    public void MakeFolder() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), "kiln-demo-preset-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void RemoveFolder() => Directory.Delete(dir, true);

    /// <summary>One short epoch of the preset, saved as kiln train saves it (parameters and optimizer state).</summary>
    string TrainBriefly(string name, Dictionary<string, string> arguments)
    {
        var preset = PresetCatalog.Get(name, arguments);
        var (train, test) = preset.LoadData(seed: 2);
        using var trainer = new Trainer(Context, preset.Build, train, test, preset.Recipe with { Epochs = 1, BatchSize = 2 });
        trainer.Train();
        var path = Path.Combine(dir, name + ".safetensors");
        Checkpoint.Save(path, trainer, preset.Architecture);
        return path;
    }

    [Test]
    public void DemoInpaint_CheckpointLoadsIntoTheInpaintingDemo()
    {
        var path = TrainBriefly("demo-inpaint", new() { ["size"] = "16", ["images"] = "4", ["test_images"] = "2" });
        using var demo = new InpaintingDemo(Context, 32, 32);
        demo.LoadWeights(path);
        var c = Checkpoint.Read(path);
        Assert.That(demo.Network.Infer.Parameters.Keys, Is.EquivalentTo(c.Tensors.Keys.Where(k => !k.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal))));
        foreach (var (name, t) in demo.Network.Infer.Parameters) Assert.That(t.ToArray(), Is.EqualTo(c.Tensors[name].ToFloats()), name);
    }

    [Test]
    public void DemoDenoise_CheckpointLoadsIntoTheDenoisingDemo_NotIntoItsFeedbackVariant()
    {
        var path = TrainBriefly("demo-denoise", new() { ["size"] = "16", ["scenes"] = "2", ["test_scenes"] = "1", ["samples"] = "1", ["converged_samples"] = "4" });
        using (var demo = new DenoisingDemo(Context, 16, 16, referenceSamples: 4))
        {
            demo.LoadWeights(path);
            var c = Checkpoint.Read(path);
            foreach (var (name, t) in demo.Network.Infer.Parameters) Assert.That(t.ToArray(), Is.EqualTo(c.Tensors[name].ToFloats()), name);
        }
        using var feedback = new DenoisingDemo(Context, 16, 16, referenceSamples: 4, feedback: true);
        var e = Assert.Throws<KilnException>(() => feedback.LoadWeights(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("'conv2d_0.weight' is [32,9,3,3] in the checkpoint"));
    }

    [Test]
    public void DemoDenoise_DataIsInTheDemosLogTransferSpace()
    {
        var preset = PresetCatalog.Get("demo-denoise", new Dictionary<string, string> { ["size"] = "16", ["scenes"] = "1", ["test_scenes"] = "1", ["samples"] = "2", ["converged_samples"] = "8" });
        var (train, _) = preset.LoadData(seed: 5);
        var raw = new RenderedFramesDataset(1, 16, 16, 2, 8, seed: 5);
        int plane = 16 * 16;
        float[] x = new float[9 * plane], y = new float[3 * plane], rx = new float[9 * plane], ry = new float[3 * plane];
        train.Read(0, x, y, new Random(7));
        raw.Read(0, rx, ry, new Random(7));
        for (int i = 0; i < 9 * plane; i++)
            Assert.That(x[i], Is.EqualTo(i < 3 * plane ? MathF.Log(1 + MathF.Max(rx[i], 0)) : rx[i]).Within(1e-6f), $"input {i}");
        for (int i = 0; i < 3 * plane; i++) Assert.That(y[i], Is.EqualTo(MathF.Log(1 + MathF.Max(ry[i], 0))).Within(1e-6f), $"target {i}");
        Assert.That(ry.Max(), Is.GreaterThan(0.05f), "the frame is not black");
    }
}
