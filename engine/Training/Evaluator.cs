using Kiln.Data;

namespace Kiln.Training;

/// <summary>
/// The inference side of a <see cref="Trainer"/>: the network compiled without training for the batch, plus a
/// second compile for the test split's remainder, so every test example counts exactly once (no padding
/// enters the loss or the metrics). Parameters are copied in from the training network before each use.
/// </summary>
internal sealed class Evaluator : IDisposable
{
    readonly GpuContext context;
    readonly Func<Network> build;
    readonly IDataset test;
    readonly TrainingOptions options;
    readonly Dictionary<int, CompiledNetwork> nets = new();
    readonly int inputElements, targetElements;

    public Evaluator(GpuContext context, Func<Network> build, IDataset test, TrainingOptions options)
    {
        this.context = context;
        this.build = build;
        this.test = test;
        this.options = options;
        inputElements = (int)test.InputShape.Elements;
        targetElements = (int)test.TargetShape.Elements;
        Batch = Math.Min(test.Count, Math.Max(options.BatchSize, 256));
        NetFor(Batch);
    }

    /// <summary>Examples per evaluation batch: the training batch, at least 256, at most the test split.</summary>
    public int Batch { get; }

    CompiledNetwork NetFor(int batch)
    {
        if (!nets.TryGetValue(batch, out var net))
            nets[batch] = net = build().Compile(context, new CompileOptions
            {
                InputShapes = Trainer.BatchShapes(options, test, batch),
                Seed = options.Seed,
                Precision = options.Precision,
            });
        return net;
    }

    public void CopyParameters(CompiledNetwork from)
    {
        var values = from.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray());
        foreach (var net in nets.Values)
            foreach (var (name, t) in net.Parameters)
                t.Upload(values.TryGetValue(name, out var v) ? v : throw new KilnException($"The inference network's parameter '{name}' is not in the training network."));
    }

    public Evaluation Run(int keepSamples, string? extraOutput)
    {
        int n = test.Count, kept = Math.Clamp(keepSamples, 0, n), outElements = -1, extraElements = 0;
        var random = new Random(Trainer.Mix(options.Seed, 0, 2)); // the same corruption at every evaluation
        var input = new float[Batch * inputElements];
        var target = new float[Batch * targetElements];
        float[] keptIn = new float[kept * inputElements], keptTarget = new float[kept * targetElements], keptOut = Array.Empty<float>(), extra = Array.Empty<float>();
        var labels = new int[n];
        double lossSum = 0, squared = 0;
        long correct = 0, compared = 0;
        var images = options.Metric == TrainingMetric.Psnr ? ImageMetrics.For(test) : null;
        for (int first = 0; first < n; first += Batch)
        {
            int b = Math.Min(Batch, n - first);
            var net = NetFor(b);
            for (int i = 0; i < b; i++)
            {
                test.Read(first + i, input.AsSpan(i * inputElements, inputElements), target.AsSpan(i * targetElements, targetElements), random);
                labels[first + i] = test.Label(first + i);
            }
            net.SetInput(options.InputName, input.AsSpan(0, b * inputElements));
            net.SetInput(options.TargetName, target.AsSpan(0, b * targetElements));
            net.Run();
            float loss = net.GetOutput("loss")[0];
            lossSum += (double)loss * b;
            var y = net.GetOutput(options.OutputName);
            int per = y.Length / b;
            if (outElements < 0)
            {
                outElements = per;
                keptOut = new float[kept * per];
            }
            if (per == targetElements)
                for (int k = 0; k < y.Length; k++)
                {
                    double d = y[k] - target[k];
                    squared += d * d;
                    compared++;
                }
            if (images != null && per == targetElements)
                for (int i = 0; i < b; i++)
                    images.Add(input.AsSpan(i * inputElements, inputElements), target.AsSpan(i * targetElements, targetElements), y.AsSpan(i * per, per));
            if (options.Metric == TrainingMetric.Accuracy)
                for (int i = 0; i < b; i++)
                    if (Predicted(y.AsSpan(i * per, per)) == labels[first + i]) correct++;
            int keep = Math.Clamp(kept - first, 0, b);
            if (keep > 0)
            {
                input.AsSpan(0, keep * inputElements).CopyTo(keptIn.AsSpan(first * inputElements));
                target.AsSpan(0, keep * targetElements).CopyTo(keptTarget.AsSpan(first * targetElements));
                y.AsSpan(0, keep * per).CopyTo(keptOut.AsSpan(first * per));
            }
            if (extraOutput != null)
            {
                var e = net.GetOutput(extraOutput);
                if (extraElements == 0)
                {
                    extraElements = e.Length / b;
                    extra = new float[n * extraElements];
                }
                e.CopyTo(extra.AsSpan(first * extraElements));
            }
        }
        double mse = compared > 0 ? squared / compared : double.NaN;
        if (options.Metric == TrainingMetric.Psnr && compared == 0)
            throw new KilnException($"PSNR needs outputs shaped like the targets ({test.TargetShape}); the output '{options.OutputName}' has {outElements} values per example.");
        return new Evaluation
        {
            Loss = lossSum / n,
            Mse = mse,
            Accuracy = options.Metric == TrainingMetric.Accuracy ? (double)correct / n : null,
            PsnrDb = options.Metric == TrainingMetric.Psnr ? 10 * Math.Log10(1 / mse) : null,
            InputPsnrDb = images?.InputPsnrDb,
            MaskedPsnrDb = images?.MaskedPsnrDb,
            MaskedInputPsnrDb = images?.MaskedInputPsnrDb,
            Inputs = keptIn,
            Outputs = keptOut,
            Targets = keptTarget,
            Extra = extra,
            Labels = labels,
        };
    }

    /// <summary>A single output is a logit (class 1 above 0); several are class scores (arg-max).</summary>
    static int Predicted(ReadOnlySpan<float> y)
    {
        if (y.Length == 1) return y[0] > 0 ? 1 : 0;
        int best = 0;
        for (int k = 1; k < y.Length; k++)
            if (y[k] > y[best]) best = k;
        return best;
    }

    public float[] Predict(ReadOnlySpan<float> inputs, int count, string output)
    {
        if (count < 0 || inputs.Length != count * inputElements)
            throw new ArgumentException($"Predict: {inputs.Length} input values for {count} examples of {test.InputShape}.");
        var net = NetFor(Batch);
        var input = new float[Batch * inputElements];
        net.SetInput(options.TargetName, new float[Batch * targetElements]);
        float[]? result = null;
        int per = 0;
        for (int first = 0; first < count; first += Batch)
        {
            // The last chunk is padded with zeros; the padded examples' outputs are not returned.
            int b = Math.Min(Batch, count - first);
            Array.Clear(input);
            inputs.Slice(first * inputElements, b * inputElements).CopyTo(input);
            net.SetInput(options.InputName, input);
            net.Run();
            var y = net.GetOutput(output);
            per = y.Length / Batch;
            result ??= new float[count * per];
            y.AsSpan(0, b * per).CopyTo(result.AsSpan(first * per));
        }
        return result ?? Array.Empty<float>();
    }

    public void Dispose()
    {
        foreach (var net in nets.Values) net.Dispose();
        nets.Clear();
    }
}
