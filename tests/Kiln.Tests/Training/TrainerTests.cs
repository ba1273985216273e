using Kiln.Tests.Reference;
using Kiln.Training;
using Kiln.Training.Presets;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>The trainer on a tiny in-test data set: it learns, evaluates every test example once, repeats itself, stops on NaN.</summary>
public sealed class TrainerTests : GpuTest
{
    static Network Mlp() => PresetNetworks.PlaygroundMlp(new[] { 8 });

    static TrainingOptions Options(int seed = 1, int batch = 16, int epochs = 3) => new()
    {
        Epochs = epochs,
        BatchSize = batch,
        LearningRate = 0.05f,
        Optimizer = new Adam(),
        Seed = seed,
        Metric = TrainingMetric.Accuracy,
    };

    [Test]
    public void LearnsTwoBlobs()
    {
        // 200 / 16 = 12 steps (8 examples dropped).
        using var trainer = new Trainer(Context, Mlp, new BlobsDataset(200, 1, noise: 0.1f), new BlobsDataset(50, 2), Options());
        var progress = new List<TrainingProgress>();
        trainer.Progress = progress.Add;
        var history = trainer.Train();
        Assert.That(history, Has.Count.EqualTo(3));
        Assert.That(progress, Has.Count.EqualTo(3 * 12));
        Assert.That(progress[^1].Step, Is.EqualTo(12));
        Assert.That(history[^1].TrainLoss, Is.LessThan(history[0].TrainLoss));
        Assert.That(history[^1].TestAccuracy, Is.GreaterThanOrEqualTo(0.96));
        Assert.That(history[^1].TestPsnrDb, Is.Null);
    }

    [Test]
    public void TestLossAndAccuracyCountEveryExampleOnce()
    {
        // 300 test examples in evaluation batches of 256 (a remainder of 44) against the same parameters' predictions, scored on the CPU.
        var test = new BlobsDataset(300, 2);
        using var trainer = new Trainer(Context, Mlp, new BlobsDataset(200, 1), test, Options(epochs: 1));
        trainer.Train();
        var eval = trainer.Evaluate();
        var inputs = new float[2 * test.Count];
        var targets = new float[test.Count];
        for (int i = 0; i < test.Count; i++) test.Read(i, inputs.AsSpan(2 * i, 2), targets.AsSpan(i, 1), new Random(0));
        var logits = trainer.Predict(inputs, test.Count);
        double bce = 0, correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            double z = logits[i], t = targets[i];
            bce += Math.Max(z, 0) - z * t + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            if ((z > 0 ? 1 : 0) == test.Label(i)) correct++;
        }
        Assert.That(RelativeError.MaxRelative(eval.Loss, bce / test.Count), Is.LessThan(Tolerances.Forward));
        Assert.That(eval.Accuracy, Is.EqualTo(correct / test.Count));
        Assert.That(eval.Labels, Has.Length.EqualTo(300));
    }

    [Test]
    public void SameSeedGivesTheSameMetrics()
    {
        IReadOnlyList<EpochMetrics> Run(int seed)
        {
            using var trainer = new Trainer(Context, Mlp, new BlobsDataset(200, 1, noise: 0.3f), new BlobsDataset(50, 2), Options(seed));
            return trainer.Train().ToList();
        }
        var (a, b, c) = (Run(5), Run(5), Run(6));
        static object Key(EpochMetrics m) => (m.TrainLoss, m.TestLoss, m.TestAccuracy);
        Assert.That(b.Select(Key), Is.EqualTo(a.Select(Key)));
        Assert.That(c.Select(Key), Is.Not.EqualTo(a.Select(Key)));
    }

    [Test]
    public void StopsWhenTheLossIsNoLongerFinite()
    {
        var options = Options() with { Optimizer = new Sgd(), LearningRate = 1e30f, Metric = TrainingMetric.None };
        using var trainer = new Trainer(Context, () => new Sequential(new Linear(2, 1)).WithLoss(new MseLoss()), new BlobsDataset(200, 1), new BlobsDataset(50, 2), options);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Train());
        Assert.That(e!.Message, Does.Contain("the loss became").And.Contain("epoch 1"));
        Assert.That(trainer.History, Is.Empty);
    }

    [Test]
    public void Fp16_ActivationsBeyondItsRange_StopTrainingAndSaySo()
    {
        var options = Options() with { Optimizer = new Sgd(), LearningRate = 1e30f, Metric = TrainingMetric.None, Precision = Precision.Fp16 };
        using var trainer = new Trainer(Context, () => new Sequential(new Linear(2, 1)).WithLoss(new MseLoss()), new BlobsDataset(200, 1), new BlobsDataset(50, 2), options);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Train());
        Assert.That(e!.Message, Does.Contain("the loss became").And.Contain("65504"));
    }

    [Test]
    public void RejectsABatchLargerThanTheTrainingSplit()
    {
        var e = Assert.Throws<ArgumentException>(() => new Trainer(Context, Mlp, new BlobsDataset(10, 1), new BlobsDataset(5, 2), Options()));
        Assert.That(e!.Message, Does.Contain("larger than the training split"));
    }
}
