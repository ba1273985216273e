using System.Globalization;
using System.Text.Json;
using Kiln.IO;

namespace Kiln.Training;

/// <summary>
/// A training checkpoint as one safetensors file. Parameters are stored under their network names, which the
/// presets choose to be PyTorch's (e.g. "encoder.0.weight", shaped [out, in, kh, kw]), so the file loads into
/// the same network built in PyTorch (<c>load_state_dict</c> after dropping the optimizer entries). Optimizer
/// state tensors are stored as <see cref="OptimizerPrefix"/> + their name (e.g. "optimizer.encoder.0.weight.adam_m"),
/// whatever the optimizer calls them. <c>__metadata__</c> holds the architecture (preset name, its arguments as
/// JSON, the example input shape) so the network can be rebuilt from the file alone, and the step state (step
/// count, learning rate) and epoch metrics to resume. Files are written to a temporary file in the same folder,
/// flushed to disk and renamed over the target: a failed save leaves the previous checkpoint intact.
/// </summary>
public sealed class Checkpoint
{
    public const string OptimizerPrefix = "optimizer.";
    /// <summary>Metadata keys.</summary>
    public const string FormatKey = "format", PresetKey = "preset", ArgumentsKey = "preset_arguments", InputShapeKey = "input_shape",
        StepKey = "step", BaseLearningRateKey = "base_learning_rate", LearningRateKey = "learning_rate", GradientScaleKey = "gradient_scale",
        StepSeedKey = "step_seed", LossScaleKey = "loss_scale", LossScaleGoodStepsKey = "loss_scale_good_steps", SkippedStepsKey = "skipped_steps", EpochKey = "epoch", MetricsKey = "metrics", SeedKey = "seed";
    public const string Format = "kiln-checkpoint-1";
    // Metrics may hold infinities (the PSNR of a perfect reconstruction).
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    Checkpoint(string path, IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }
    /// <summary>Every tensor in the file, parameters and optimizer state.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>The preset that built the network, or null for a checkpoint of another network.</summary>
    public string? Preset => Metadata.GetValueOrDefault(PresetKey);
    /// <summary>The preset's arguments (e.g. latent = 2).</summary>
    public IReadOnlyDictionary<string, string> PresetArguments =>
        Metadata.TryGetValue(ArgumentsKey, out var json) ? JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? new() : new Dictionary<string, string>();
    /// <summary>Shape of one example's input, without the batch dimension.</summary>
    public Shape? InputShape => Metadata.TryGetValue(InputShapeKey, out var s) ? new Shape(s.Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray()) : null;
    /// <summary>Training steps taken when it was saved.</summary>
    public uint Step => Metadata.TryGetValue(StepKey, out var s) ? uint.Parse(s, CultureInfo.InvariantCulture) : 0;
    /// <summary>Epochs trained when it was saved.</summary>
    public int Epoch => Metadata.TryGetValue(EpochKey, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 0;
    /// <summary>The step state (step counter, base and current learning rate, clipping factor, seed, loss scale) when it was saved.</summary>
    public StepState? StepState =>
        Metadata.ContainsKey(StepKey) && Metadata.ContainsKey(BaseLearningRateKey) && Metadata.ContainsKey(LearningRateKey) && Metadata.ContainsKey(GradientScaleKey) && Metadata.ContainsKey(StepSeedKey)
            ? new StepState(Step, Float(BaseLearningRateKey), Float(LearningRateKey), Float(GradientScaleKey), uint.Parse(Metadata[StepSeedKey], CultureInfo.InvariantCulture),
                Metadata.ContainsKey(LossScaleKey) ? Float(LossScaleKey) : 1f, Count(LossScaleGoodStepsKey), Count(SkippedStepsKey))
            : null;

    uint Count(string key) => !Metadata.TryGetValue(key, out var s) ? 0
        : uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
        : throw new KilnException($"{Path}: metadata {key}='{s}' is not a count.");

    float Float(string key) => float.TryParse(Metadata[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
        : throw new KilnException($"{Path}: metadata {key}='{Metadata[key]}' is not a number.");
    /// <summary>Metrics of the epochs trained when it was saved.</summary>
    public IReadOnlyList<EpochMetrics> Metrics =>
        Metadata.TryGetValue(MetricsKey, out var json) ? JsonSerializer.Deserialize<List<EpochMetrics>>(json, Json) ?? new() : new List<EpochMetrics>();

    /// <summary>Reads a checkpoint (any safetensors file; metadata may be missing).</summary>
    public static Checkpoint Read(string path)
    {
        var (tensors, metadata) = Safetensors.Read(path);
        return new Checkpoint(path, tensors, metadata);
    }

    /// <summary>
    /// Saves <paramref name="net"/>'s parameters, its optimizer state when it trains, its step state, and
    /// <paramref name="metadata"/> (architecture, metrics) atomically to <paramref name="path"/>.
    /// </summary>
    public static void Save(string path, CompiledNetwork net, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var tensors = net.Parameters.Select(p => (p.Key, p.Value.Shape.ToArray(), p.Value.ToArray()))
            .Concat(net.OptimizerState.Select(s => (OptimizerPrefix + s.Key, s.Value.Shape.ToArray(), s.Value.ToArray())))
            .ToList();
        var state = net.ReadStepState();
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [FormatKey] = Format,
            [StepKey] = state.Step.ToString(CultureInfo.InvariantCulture),
            [BaseLearningRateKey] = state.BaseLearningRate.ToString("R", CultureInfo.InvariantCulture),
            [LearningRateKey] = state.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            [GradientScaleKey] = state.GradientScale.ToString("R", CultureInfo.InvariantCulture),
            [StepSeedKey] = state.Seed.ToString(CultureInfo.InvariantCulture),
            [LossScaleKey] = state.LossScale.ToString("R", CultureInfo.InvariantCulture),
            [LossScaleGoodStepsKey] = state.GoodSteps.ToString(CultureInfo.InvariantCulture),
            [SkippedStepsKey] = state.SkippedSteps.ToString(CultureInfo.InvariantCulture),
        };
        Safetensors.Write(path, tensors, meta);
    }

    /// <summary>Saves a trainer's network with its epoch metrics and the architecture description.</summary>
    public static void Save(string path, Trainer trainer, IReadOnlyDictionary<string, string>? architecture = null)
    {
        var meta = new Dictionary<string, string>(architecture ?? new Dictionary<string, string>())
        {
            [EpochKey] = trainer.History.Count.ToString(CultureInfo.InvariantCulture),
            [MetricsKey] = JsonSerializer.Serialize(trainer.History, Json),
            [SeedKey] = trainer.Options.Seed.ToString(CultureInfo.InvariantCulture),
        };
        Save(path, trainer.Network, meta);
    }

    /// <summary>
    /// Writes this checkpoint's parameters alone (no optimizer state) with its metadata to <paramref name="path"/>,
    /// as F16 when <paramref name="half"/> (half the bytes; values rounded to the nearest half, which
    /// <see cref="SafetensorsTensor.ToFloats"/> reads back as f32): weights to ship, which <see cref="LoadInto"/> loads
    /// (parameters only) and from which <see cref="Presets.PresetCatalog"/> rebuilds the network. Refuses values beyond
    /// the F16 range (65504), naming the tensor.
    /// </summary>
    public void SaveParameters(string path, bool half = true)
    {
        var tensors = new List<(string, int[], float[])>();
        foreach (var (name, t) in Tensors)
        {
            if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) continue;
            var values = t.ToFloats();
            int bad = half ? Array.FindIndex(values, v => !(Math.Abs(v) <= (float)Half.MaxValue)) : -1;
            if (bad >= 0) throw new KilnException($"{Path}: parameter '{name}' holds {values[bad]} at {bad}, which F16 can't store (|x| <= 65504).");
            tensors.Add((name, t.Shape, values));
        }
        if (tensors.Count == 0) throw new KilnException($"{Path}: the checkpoint holds no parameters.");
        Safetensors.Write(path, tensors, Metadata, half);
    }

    /// <summary>
    /// Loads the parameters into <paramref name="net"/>; with <paramref name="trainingState"/> also the optimizer
    /// state (every tensor by name: the file and the network must hold the same set) and the step state.
    /// Every name and shape is checked before anything is uploaded.
    /// </summary>
    public void LoadInto(CompiledNetwork net, bool trainingState = false)
    {
        ArgumentNullException.ThrowIfNull(net);
        var wanted = net.Parameters.ToDictionary(p => p.Key, p => p.Value);
        var stepState = trainingState
            ? StepState ?? throw new KilnException($"{Path}: the checkpoint has no step state to resume from (metadata '{StepKey}', '{BaseLearningRateKey}', '{LearningRateKey}', '{GradientScaleKey}', '{StepSeedKey}').")
            : (StepState?)null;
        if (trainingState)
            foreach (var (name, t) in net.OptimizerState) wanted[OptimizerPrefix + name] = t;
        var inFile = Tensors.Keys.Where(k => trainingState || !k.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToList();
        var missing = wanted.Keys.Where(k => !Tensors.ContainsKey(k)).ToList();
        var extra = inFile.Where(k => !wanted.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new KilnException($"{Path}: the checkpoint doesn't match the network: "
                + (missing.Count > 0 ? $"'{missing[0]}' of the network is not in the file" : $"'{extra[0]}' of the file is not in the network")
                + $" (missing: {Names(missing)}; not in the network: {Names(extra)}).");
        foreach (var (name, t) in wanted)
            if (!Tensors[name].Shape.SequenceEqual(t.Shape.ToArray()))
                throw new KilnException($"{Path}: '{name}' is [{string.Join(",", Tensors[name].Shape)}] in the checkpoint, {t.Shape} in the network.");
        foreach (var (name, t) in wanted) t.Upload(Tensors[name].ToFloats());
        if (stepState is { } state)
        {
            // A checkpoint from before loss scaling keeps the network's own scale.
            if (!Metadata.ContainsKey(LossScaleKey)) state = state with { LossScale = net.ReadStepState().LossScale };
            net.WriteStepState(state);
        }
    }

    static string Names(List<string> names) =>
        names.Count == 0 ? "none" : string.Join(", ", names.Take(8)) + (names.Count > 8 ? $" and {names.Count - 8} more" : "");

    /// <summary>
    /// Resumes <paramref name="trainer"/> from this checkpoint: parameters, optimizer state, step state and the
    /// epochs already trained, so that <see cref="Trainer.Train"/> continues where the saved run stopped.
    /// </summary>
    public void ResumeInto(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        LoadInto(trainer.Network, trainingState: true);
        var metrics = Metrics;
        if (metrics.Count != Epoch)
            throw new KilnException($"{Path}: the checkpoint says {Epoch} epochs were trained but holds metrics of {metrics.Count}.");
        trainer.RestoreHistory(metrics);
    }
}
