using System.Diagnostics;
using Kiln.Data;

namespace Kiln.Training;

/// <summary>
/// Trains a network on an <see cref="IDataset"/>: epochs of shuffled batches (the order and any data corruption
/// drawn from the seed and the epoch number, so a run resumed at an epoch boundary equals an uninterrupted one),
/// packed on the CPU while the previous step runs and uploaded into the other of two input buffer sets; the step
/// is recorded once and replayed. After each epoch the test split is evaluated by a separately compiled inference
/// network (<see cref="Evaluate"/>). A loss that becomes NaN or infinite stops training with a
/// <see cref="TrainingDivergedException"/>.
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly IDataset train;
    readonly TrainingOptions options;
    readonly CompiledNetwork net;
    readonly Evaluator evaluator;
    readonly List<EpochMetrics> history = new();
    readonly int inputElements, targetElements;

    /// <summary>
    /// Compiles the network that <paramref name="build"/> returns (with its loss of the output against the target)
    /// for training; <paramref name="build"/> is called again for the inference network that evaluates.
    /// </summary>
    public Trainer(GpuContext context, Func<Network> build, IDataset train, IDataset test, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (train.InputShape != test.InputShape || train.TargetShape != test.TargetShape)
            throw new ArgumentException($"The train split's examples ({train.InputShape} -> {train.TargetShape}) differ from the test split's ({test.InputShape} -> {test.TargetShape}).");
        if (train.Count < options.BatchSize)
            throw new ArgumentException($"The batch ({options.BatchSize}) is larger than the training split ({train.Count} examples).");
        if (test.Count < 1) throw new ArgumentException("The test split is empty.");
        this.train = train;
        this.options = options;
        inputElements = (int)train.InputShape.Elements;
        targetElements = (int)train.TargetShape.Elements;
        net = build().Compile(context, new CompileOptions
        {
            InputShapes = BatchShapes(options, train, options.BatchSize),
            Training = true,
            Optimizer = options.Optimizer,
            LearningRate = options.LearningRate,
            Schedule = options.Schedule,
            ClipGradientNorm = options.ClipGradientNorm,
            L1 = options.L1,
            L2 = options.L2,
            Seed = options.Seed,
            Precision = options.Precision,
            InputBuffers = 2,
        });
        try
        {
            evaluator = new Evaluator(context, build, test, options);
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>The compiled training network (parameters, optimizer state, learning rate).</summary>
    public CompiledNetwork Network => net;
    public TrainingOptions Options => options;
    /// <summary>Metrics of the epochs trained so far (restored ones included after a resume).</summary>
    public IReadOnlyList<EpochMetrics> History => history;
    /// <summary>Called after every training step.</summary>
    public Action<TrainingProgress>? Progress { get; set; }
    /// <summary>Steps in one epoch: the training split divided by the batch, the partial last batch dropped.</summary>
    public int StepsPerEpoch => train.Count / options.BatchSize;

    internal static Dictionary<string, Shape> BatchShapes(TrainingOptions options, IDataset data, int batch) => new()
    {
        [options.InputName] = new Shape(new[] { batch }.Concat(data.InputShape).ToArray()),
        [options.TargetName] = new Shape(new[] { batch }.Concat(data.TargetShape).ToArray()),
    };

    /// <summary>Trains the remaining epochs of <see cref="TrainingOptions.Epochs"/>; returns every epoch's metrics.</summary>
    public IReadOnlyList<EpochMetrics> Train(Action<EpochMetrics>? afterEpoch = null)
    {
        while (history.Count < options.Epochs)
        {
            var metrics = TrainEpoch();
            afterEpoch?.Invoke(metrics);
        }
        return history;
    }

    /// <summary>Trains one epoch, evaluates the test split and returns the epoch's metrics.</summary>
    public EpochMetrics TrainEpoch()
    {
        int epoch = history.Count + 1, batch = options.BatchSize, steps = StepsPerEpoch;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(Mix(options.Seed, epoch, 0)).Shuffle(order);
        var random = new Random(Mix(options.Seed, epoch, 1));
        var input = new float[batch * inputElements];
        var target = new float[batch * targetElements];
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        Pack(order, 0, input, target, random);
        Upload(0, input, target);
        for (int s = 0; s < steps; s++)
        {
            var running = net.RunAsync(s % 2);
            // The next batch is packed and its upload queued (into the other input set) while this step runs.
            if (s + 1 < steps)
            {
                Pack(order, (s + 1) * batch, input, target, random);
                Upload((s + 1) % 2, input, target);
            }
            running.Wait();
            float loss = net.GetOutput("loss")[0];
            if (!float.IsFinite(loss))
                throw new TrainingDivergedException(
                    $"Training stopped in epoch {epoch}, step {s + 1} of {steps}: the loss became {loss} (learning rate {net.LearningRate}, batch {batch}). " +
                    (options.Precision == Precision.Fp16
                        ? "Under Precision.Fp16 an activation beyond f16's range (|x| > 65504) becomes infinite: scale the inputs down, lower the learning rate or train at Fp32."
                        : "Lower the learning rate."));
            lossSum += loss;
            Progress?.Invoke(new TrainingProgress(epoch, options.Epochs, s + 1, steps, lossSum / (s + 1), loss, (s + 1) * batch / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var eval = Evaluate();
        var metrics = new EpochMetrics(epoch, steps > 0 ? lossSum / steps : double.NaN, eval.Loss, eval.Accuracy, eval.PsnrDb, seconds,
            eval.InputPsnrDb, eval.MaskedPsnrDb, eval.MaskedInputPsnrDb);
        history.Add(metrics);
        return metrics;
    }

    void Pack(int[] order, int first, float[] input, float[] target, Random random)
    {
        for (int i = 0; i < options.BatchSize; i++)
            train.Read(order[first + i], input.AsSpan(i * inputElements, inputElements), target.AsSpan(i * targetElements, targetElements), random);
    }

    void Upload(int slot, float[] input, float[] target)
    {
        var set = net.InputsOf(slot);
        set[options.InputName].UploadAsync(input);
        set[options.TargetName].UploadAsync(target);
    }

    /// <summary>
    /// Evaluates the test split with the current parameters: loss and metric over every example. Keeps the
    /// inputs, outputs and targets of the first <paramref name="keepSamples"/> examples, and with
    /// <paramref name="extraOutput"/> that output of every example (e.g. "latent").
    /// </summary>
    public Evaluation Evaluate(int keepSamples = 0, string? extraOutput = null)
    {
        evaluator.CopyParameters(net);
        return evaluator.Run(keepSamples, extraOutput);
    }

    /// <summary>Runs the inference network on <paramref name="count"/> inputs (any count) and returns <paramref name="output"/> for each.</summary>
    public float[] Predict(ReadOnlySpan<float> inputs, int count, string? output = null)
    {
        evaluator.CopyParameters(net);
        return evaluator.Predict(inputs, count, output ?? options.OutputName);
    }

    /// <summary>Takes the metrics of epochs trained before (a resumed run); training continues after them.</summary>
    internal void RestoreHistory(IEnumerable<EpochMetrics> epochs)
    {
        history.Clear();
        history.AddRange(epochs);
    }

    internal static int Mix(int seed, int epoch, int stream)
    {
        unchecked
        {
            uint h = (uint)seed * 0x9E3779B1u ^ (uint)epoch * 0x85EBCA77u ^ (uint)stream * 0xC2B2AE3Du;
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 12;
            return (int)(h & 0x7FFFFFFF);
        }
    }

    public void Dispose()
    {
        evaluator.Dispose();
        net.Dispose();
    }
}
