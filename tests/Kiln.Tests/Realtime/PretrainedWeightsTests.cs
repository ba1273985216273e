using Kiln.Realtime;
using Kiln.Tests.Cli;
using Kiln.Training;
using Kiln.Training.Presets;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>
/// The weights the demos ship (demos/weights, copied beside the app by the Kiln.Cli project): small F16 files of the
/// demos' own networks from the demo presets, a better start than random weights on the demos' first frames, and a
/// clear error for a file that doesn't fit.
/// </summary>
public sealed class PretrainedWeightsTests : GpuTest
{
    static string Shipped(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "weights", file);
        Assert.That(File.Exists(path), Is.True, $"{path}: the shipped weights are copied beside the app");
        return path;
    }

    [TestCase(InpaintingDemo.ShippedWeights, "demo-inpaint", 256 * 1024)]
    [TestCase(DenoisingDemo.ShippedWeights, "demo-denoise", 2 * 1024 * 1024)]
    public void ShippedWeights_AreSmallF16FilesOfTheDemoPreset(string file, string preset, int maxBytes)
    {
        var path = Shipped(file);
        Assert.That(new FileInfo(path).Length, Is.LessThan(maxBytes));
        var c = Checkpoint.Read(path);
        Assert.That(c.Preset, Is.EqualTo(preset));
        Assert.That(c.Tensors.Values.Select(t => t.Dtype).Distinct(), Is.EqualTo(new[] { "F16" }));
        Assert.That(c.Tensors.Keys.Any(k => k.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)), Is.False, "parameters only");
        Assert.That(c.Epoch, Is.GreaterThan(0), "trained by kiln train");
        Assert.That(PresetCatalog.FromCheckpoint(c).Name, Is.EqualTo(preset));
    }

    static double MeanMetric(RealtimeDemo demo, int frames, string metric)
    {
        using var loop = new FrameLoop(demo);
        loop.Run(frames);
        return loop.Records.Average(r => r.Metrics[metric]);
    }

    [Test]
    public void Inpainting_ShippedWeights_StartWithALowerLossThanRandomWeights()
    {
        // The loss of a frame's first training step is the L1 of the network as it starts, on that frame (the whole
        // image); the hole L1 is recomputed from the last frame's tensors: |output - clean image| inside the mask.
        (double Loss, double Hole) Run(bool pretrained)
        {
            using var demo = new InpaintingDemo(Context, 64, 64) { TrainingStepsPerFrame = 1 };
            if (pretrained) demo.LoadWeights(Shipped(InpaintingDemo.ShippedWeights));
            double loss = MeanMetric(demo, 3, "loss");
            var x = demo.Network.Infer.Inputs["x"].ToArray();
            var y = demo.Network.Infer.Outputs["y"].ToArray();
            var clean = demo.Network.Train.Inputs["target"].ToArray();
            int plane = 64 * 64;
            double sum = 0, holes = 0;
            for (int i = 0; i < plane; i++)
            {
                double m = x[3 * plane + i];
                holes += m;
                for (int c = 0; c < 3; c++) sum += m * Math.Abs(y[c * plane + i] - clean[c * plane + i]);
            }
            Assert.That(holes, Is.GreaterThan(0.02 * plane), "the frame has holes");
            return (loss, sum / (3 * holes));
        }
        var (random, shipped) = (Run(false), Run(true));
        TestContext.Progress.WriteLine($"inpainting, first 3 frames at 64x64: L1 random weights {random.Loss:0.0000}, shipped {shipped.Loss:0.0000}; L1 in the holes random {random.Hole:0.0000}, shipped {shipped.Hole:0.0000}");
        Assert.That(shipped.Loss, Is.LessThan(0.7 * random.Loss));
        Assert.That(shipped.Hole, Is.LessThan(0.8 * random.Hole));
    }

    [Test]
    public void Denoising_ShippedWeights_StartWithAHigherPsnrThanRandomWeights()
    {
        double Psnr(bool pretrained)
        {
            using var demo = new DenoisingDemo(Context, 32, 32, referenceSamples: 32) { Training = false };
            if (pretrained) demo.LoadWeights(Shipped(DenoisingDemo.ShippedWeights));
            return MeanMetric(demo, 2, "psnr_denoised");
        }
        double random = Psnr(false), shipped = Psnr(true);
        double noisy;
        using (var plain = new DenoisingDemo(Context, 32, 32, referenceSamples: 32) { Training = false }) noisy = MeanMetric(plain, 2, "psnr_noisy");
        TestContext.Progress.WriteLine($"denoising PSNR on the first 2 frames at 32x32: noisy input {noisy:0.00} dB, random weights {random:0.00} dB, shipped weights {shipped:0.00} dB");
        Assert.That(shipped, Is.GreaterThan(random + 3));
        Assert.That(shipped, Is.GreaterThan(noisy), "the shipped denoiser improves on its input from the first frame");
    }

    [Test]
    public void Loading_LeavesInferenceAndTrainingWithTheFileParameters()
    {
        var path = Shipped(InpaintingDemo.ShippedWeights);
        using var demo = new InpaintingDemo(Context, 16, 16);
        demo.LoadWeights(path);
        var c = Checkpoint.Read(path);
        foreach (var (name, t) in demo.Network.Train.Parameters)
        {
            Assert.That(t.ToArray(), Is.EqualTo(c.Tensors[name].ToFloats()), $"training {name}");
            Assert.That(demo.Network.Infer.Parameters[name].ToArray(), Is.EqualTo(c.Tensors[name].ToFloats()), $"inference {name}");
        }
    }

    [Test]
    public void AFileOfAnotherNetwork_IsAClearError_NamingTheFileAndTheTensor()
    {
        var denoiser = Shipped(DenoisingDemo.ShippedWeights);
        using var demo = new InpaintingDemo(Context, 16, 16);
        var before = demo.Network.Train.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray());
        var e = Assert.Throws<KilnException>(() => demo.LoadWeights(denoiser));
        TestContext.Progress.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain(denoiser).And.Contain("'conv2d_11.weight' of the file is not in the network"));
        foreach (var (name, t) in demo.Network.Train.Parameters) Assert.That(t.ToArray(), Is.EqualTo(before[name]), "nothing loaded");

        var missing = Path.Combine(Path.GetTempPath(), "kiln-no-such-weights-" + Guid.NewGuid().ToString("N") + ".safetensors");
        Assert.That(Assert.Throws<Kiln.IO.SafetensorsException>(() => demo.LoadWeights(missing))!.Message, Does.Contain(missing));
    }

    [Test]
    public void Cli_WrongWeights_FailsWithTheFileNamed_NoneStartsFromRandomWeights()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var denoiser = Shipped(DenoisingDemo.ShippedWeights);
            var bad = CliRun.Run("demo", "inpaint", "--size", "16x16", "--frames", "1", "--out", dir, "--weights", denoiser);
            Assert.That(bad.Code, Is.Not.Zero);
            Assert.That(bad.Stderr, Does.Contain(denoiser).And.Contain("'conv2d_11.weight' of the file is not in the network"));
            var none = CliRun.Run("demo", "inpaint", "--size", "16x16", "--frames", "1", "--out", dir, "--weights", "none");
            Assert.That(none.Code, Is.Zero, none.Stderr);
            using (var stats = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "stats.json"))))
                Assert.That(stats.RootElement.GetProperty("weights").GetString(), Is.EqualTo("random"));
            var shipped = CliRun.Run("demo", "inpaint", "--size", "16x16", "--frames", "1", "--out", dir);
            Assert.That(shipped.Code, Is.Zero, shipped.Stderr);
            Assert.That(shipped.Stdout, Does.Contain("weights: " + Shipped(InpaintingDemo.ShippedWeights)));
        }
        finally { Directory.Delete(dir, true); }
    }
}
