using System.Diagnostics;
using System.Runtime.CompilerServices;
using Kiln.IO;
using Kiln.Tests.Reference;
using Kiln.Training;
using Kiln.Training.Presets;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>Checkpoints: round trip, resume equal to an uninterrupted run, atomic writes, and PyTorch loading them (and back).</summary>
public sealed class CheckpointTests : GpuTest
{
    string folder = "";

    [SetUp]
    public void MakeFolder() => Directory.CreateDirectory(folder = Path.Combine(Path.GetTempPath(), $"kiln-checkpoint-{Guid.NewGuid():N}"));

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    static Network Mlp() => PresetNetworks.PlaygroundMlp(new[] { 8, 8 });

    static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 16, LearningRate = 0.02f, Optimizer = new Adam(), Seed = 3, Metric = TrainingMetric.Accuracy,
    };

    static Trainer NewTrainer(int epochs) => new(Context, Mlp, new BlobsDataset(160, 1, noise: 0.3f), new BlobsDataset(40, 2), Options(epochs));

    [Test]
    public void ResumingEqualsTrainingWithoutAStop()
    {
        using var whole = NewTrainer(3);
        whole.Train();
        var path = Path.Combine(folder, "run.safetensors");
        using (var first = NewTrainer(3))
        {
            first.TrainEpoch();
            Checkpoint.Save(path, first);
        }
        var checkpoint = Checkpoint.Read(path);
        Assert.That(checkpoint.Epoch, Is.EqualTo(1));
        Assert.That(checkpoint.Step, Is.EqualTo(10u));
        Assert.That(checkpoint.Tensors.Keys.Count(k => k.StartsWith(Checkpoint.OptimizerPrefix)), Is.EqualTo(2 * 6), "Adam's two moments of 6 parameters");
        using var resumed = NewTrainer(3);
        checkpoint.ResumeInto(resumed);
        Assert.That(resumed.Network.StepCount, Is.EqualTo(10u));
        resumed.Train();
        static object Key(EpochMetrics m) => (m.Epoch, m.TrainLoss, m.TestLoss, m.TestAccuracy);
        Assert.That(resumed.History.Select(Key), Is.EqualTo(whole.History.Select(Key)));
        foreach (var (name, t) in whole.Network.Parameters)
            Assert.That(resumed.Network.Parameters[name].ToArray(), Is.EqualTo(t.ToArray()), name);
        foreach (var (name, t) in whole.Network.OptimizerState)
            Assert.That(resumed.Network.OptimizerState[name].ToArray(), Is.EqualTo(t.ToArray()), name);
    }

    [Test]
    public void ParametersRoundTripAndMismatchesAreNamed()
    {
        var path = Path.Combine(folder, "p.safetensors");
        using var trained = NewTrainer(1);
        trained.Train();
        Checkpoint.Save(path, trained);
        using var other = NewTrainer(1);
        Checkpoint.Read(path).LoadInto(other.Network);
        Assert.That(other.Evaluate().Loss, Is.EqualTo(trained.Evaluate().Loss));
        using var wider = PresetNetworks.PlaygroundMlp(new[] { 8, 9 }).Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(4, 2), ["target"] = new Shape(4, 1) },
        });
        var e = Assert.Throws<KilnException>(() => Checkpoint.Read(path).LoadInto(wider));
        Assert.That(e!.Message, Does.Contain("'2.weight' is [8,8] in the checkpoint"));
    }

    [Test]
    public void AFailedWriteLeavesThePreviousCheckpoint()
    {
        var path = Path.Combine(folder, "c.safetensors");
        using var trainer = NewTrainer(2);
        trainer.TrainEpoch();
        Checkpoint.Save(path, trainer);
        var before = File.ReadAllBytes(path);
        trainer.TrainEpoch();
        Directory.CreateDirectory(path + ".tmp"); // the temporary file can't be created
        Assert.That(() => Checkpoint.Save(path, trainer), Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Checkpoint.Read(path).Epoch, Is.EqualTo(1));
        Directory.Delete(path + ".tmp");
        Checkpoint.Save(path, trainer);
        Assert.That(Checkpoint.Read(path).Epoch, Is.EqualTo(2));
        Assert.That(Directory.GetFiles(folder), Is.EquivalentTo(new[] { path }), "no temporary file is left behind");
    }

    /// <summary>
    /// The fashion autoencoder's checkpoint loads into the same network built in PyTorch (strict state-dict
    /// load) and gives the same outputs; PyTorch's changed parameters load back into Kiln and give PyTorch's outputs.
    /// </summary>
    [Test, Category(TestTools.Category)]
    public void PyTorchLoadsTheCheckpointAndKilnLoadsItsParametersBack()
    {
        const string python = "/usr/bin/python3";
        TestTools.Require(File.Exists(python), "/usr/bin/python3 is not installed");
        TestTools.Require(ChildProcess.Run(new ProcessStartInfo(python, "-c \"import torch\""), TimeSpan.FromMinutes(2)).Code == 0,
            "PyTorch is not installed for /usr/bin/python3 (Debian's python3-torch)");
        const int batch = 3, latent = 4;
        using var net = PresetNetworks.FashionAutoencoder(latent).Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, 1, 28, 28), ["target"] = new Shape(batch, 1, 28, 28) },
            Seed = 11,
        });
        var x = RandomData.Uniform(batch * 28 * 28, 5, 0, 1).Select(v => (float)v).ToArray();
        net.SetInput("x", x);
        net.SetInput("target", new float[batch * 28 * 28]);
        net.Run();
        var kilnY = net.GetOutput("y");
        var checkpoint = Path.Combine(folder, "ae.safetensors");
        Checkpoint.Save(checkpoint, net, new Dictionary<string, string> { [Checkpoint.PresetKey] = "fashion-ae", [Checkpoint.ArgumentsKey] = $"{{\"latent\":\"{latent}\"}}" });
        var input = Path.Combine(folder, "x.safetensors");
        Safetensors.Write(input, new[] { ("x", new[] { batch, 1, 28, 28 }, x) });

        var (code, printed) = ChildProcess.Run(new ProcessStartInfo(python, $"\"{Script()}\" \"{checkpoint}\" \"{input}\" \"{folder}\""), TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Zero, printed);

        var torchY = Safetensors.Read(Path.Combine(folder, "torch_out.safetensors")).Tensors["y"].ToFloats();
        Assert.That(RelativeError.MaxRelative(kilnY, torchY), Is.LessThan(Tolerances.Forward));
        Checkpoint.Read(Path.Combine(folder, "torch_params.safetensors")).LoadInto(net);
        net.Run();
        var torchY2 = Safetensors.Read(Path.Combine(folder, "torch_out2.safetensors")).Tensors["y"].ToFloats();
        Assert.That(RelativeError.MaxRelative(net.GetOutput("y"), torchY2), Is.LessThan(Tolerances.Forward));
        Assert.That(RelativeError.MaxRelative(torchY2, torchY), Is.GreaterThan(100 * Tolerances.Forward), "PyTorch's step changed the outputs");
    }

    static string Script([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "torch_checkpoint.py");
}
