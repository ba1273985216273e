using System.Globalization;
using System.Text.Json;
using Kiln.Data;

namespace Kiln.Training.Presets;

/// <summary>
/// A model that <c>kiln train</c> can train by name (MODELS.md): its network (with PyTorch parameter names),
/// its data, its recipe, and the arguments that shape them. <see cref="Architecture"/> is what a checkpoint
/// records so the network can be rebuilt from the file alone (<see cref="PresetCatalog.FromCheckpoint"/>).
/// </summary>
public sealed class Preset
{
    readonly Func<string?, int, (IDataset Train, IDataset Test)> data;

    internal Preset(string name, string description, IReadOnlyDictionary<string, string> arguments, Shape inputShape,
        TrainingOptions recipe, Func<Network> build, Func<string?, int, (IDataset, IDataset)> data, PresetKind kind)
    {
        Name = name;
        Description = description;
        Arguments = arguments;
        InputShape = inputShape;
        Recipe = recipe;
        Build = build;
        this.data = data;
        Kind = kind;
    }

    public string Name { get; }
    public string Description { get; }
    /// <summary>The arguments the network and data were made with (defaults filled in), as strings.</summary>
    public IReadOnlyDictionary<string, string> Arguments { get; }
    /// <summary>Shape of one example's input, without the batch dimension.</summary>
    public Shape InputShape { get; }
    /// <summary>The recipe of MODELS.md: epochs, batch, optimizer, learning rate, metric.</summary>
    public TrainingOptions Recipe { get; }
    /// <summary>Builds the network with its loss against a "target" input; outputs "y" (and "latent" for autoencoders).</summary>
    public Func<Network> Build { get; }
    /// <summary>What the reports of <c>kiln train</c> draw for it.</summary>
    public PresetKind Kind { get; }

    /// <summary>
    /// The training and test splits; <paramref name="path"/> replaces the default data location (a Fashion-MNIST
    /// folder, or a folder of images for inpainting), <paramref name="seed"/> seeds generated data.
    /// </summary>
    public (IDataset Train, IDataset Test) LoadData(string? path = null, int seed = 0) => data(path, seed);

    /// <summary>Checkpoint metadata describing the architecture (<see cref="Checkpoint.PresetKey"/> and friends).</summary>
    public IReadOnlyDictionary<string, string> Architecture => new Dictionary<string, string>
    {
        [Checkpoint.PresetKey] = Name,
        [Checkpoint.ArgumentsKey] = JsonSerializer.Serialize(Arguments),
        [Checkpoint.InputShapeKey] = string.Join(",", InputShape.Select(d => d.ToString(CultureInfo.InvariantCulture))),
    };

    public override string ToString() => $"{Name} ({string.Join(", ", Arguments.Select(a => $"{a.Key}={a.Value}"))})";
}
