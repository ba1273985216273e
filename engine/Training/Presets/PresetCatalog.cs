using System.Globalization;
using Kiln.Data;
using Kiln.Data.Scenes;
using Kiln.Realtime;

namespace Kiln.Training.Presets;

/// <summary>
/// The presets of MODELS.md by name. Arguments (strings, as typed on a command line or stored in a checkpoint)
/// override the defaults; an unknown name or argument is an <see cref="ArgumentException"/> listing the valid ones.
/// </summary>
public static class PresetCatalog
{
    public static readonly IReadOnlyList<string> Names = new[]
    {
        "playground-circle", "playground-xor", "playground-gauss", "playground-spiral",
        "fashion-ae", "fashion-ae2d", "fashion-dae", "inpaint-unet", "denoise-unet",
        "demo-inpaint", "demo-denoise",
    };

    /// <summary>The preset <paramref name="name"/> with <paramref name="arguments"/> over its defaults.</summary>
    public static Preset Get(string name, IReadOnlyDictionary<string, string>? arguments = null)
    {
        var given = arguments ?? new Dictionary<string, string>();
        switch (name)
        {
            case "playground-circle": return Playground(name, PlaygroundKind.Circle, given);
            case "playground-xor": return Playground(name, PlaygroundKind.Xor, given);
            case "playground-gauss": return Playground(name, PlaygroundKind.Gauss, given);
            case "playground-spiral": return Playground(name, PlaygroundKind.Spiral, given);
            case "fashion-ae": return Fashion(name, given, latent: 32, denoising: false);
            case "fashion-ae2d": return Fashion(name, given, latent: 2, denoising: false);
            case "fashion-dae": return Fashion(name, given, latent: 32, denoising: true);
            case "inpaint-unet": return Inpaint(name, given);
            case "denoise-unet": return Denoise(name, given);
            case "demo-inpaint": return DemoInpaint(name, given);
            case "demo-denoise": return DemoDenoise(name, given);
            default: throw new ArgumentException($"Unknown preset '{name}'; presets: {string.Join(", ", Names)}.");
        }
    }

    /// <summary>The preset a checkpoint was trained from (its metadata), to rebuild its network.</summary>
    public static Preset FromCheckpoint(Checkpoint checkpoint) =>
        Get(checkpoint.Preset ?? throw new KilnException($"{checkpoint.Path}: the checkpoint names no preset (metadata '{Checkpoint.PresetKey}')."), checkpoint.PresetArguments);

    static Dictionary<string, string> Merge(string preset, IReadOnlyDictionary<string, string> given, Dictionary<string, string> defaults)
    {
        foreach (var (k, v) in given)
        {
            if (!defaults.ContainsKey(k))
                throw new ArgumentException($"{preset}: unknown argument '{k}'; it takes: {string.Join(", ", defaults.Keys)}.");
            defaults[k] = v;
        }
        return defaults;
    }

    static int Int(string preset, IReadOnlyDictionary<string, string> a, string key) =>
        int.TryParse(a[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{preset}: argument {key}='{a[key]}' is not an integer.");

    static double Number(string preset, IReadOnlyDictionary<string, string> a, string key) =>
        double.TryParse(a[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{preset}: argument {key}='{a[key]}' is not a number.");

    static int[] Ints(string preset, IReadOnlyDictionary<string, string> a, string key) =>
        a[key].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
            : throw new ArgumentException($"{preset}: argument {key}='{a[key]}' is not a list of positive integers.")).ToArray();

    static Preset Playground(string name, PlaygroundKind kind, IReadOnlyDictionary<string, string> given)
    {
        var a = Merge(name, given, new() { ["points"] = "500", ["noise"] = "0", ["hidden"] = "16,16,16", ["activation"] = "tanh" });
        int points = Int(name, a, "points");
        double noise = Number(name, a, "noise");
        var hidden = Ints(name, a, "hidden");
        string activation = a["activation"];
        Network Build() => PresetNetworks.PlaygroundMlp(hidden, activation);
        Build(); // checks the activation now
        int epochs = kind == PlaygroundKind.Spiral ? 200 : 50, stepsPerEpoch = points / 2 / 10;
        var recipe = new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = 10,
            LearningRate = 0.01f,
            Optimizer = new Adam(),
            // The rate decays to 0 over the default run, so the last epochs settle instead of jittering.
            Schedule = new CosineAnnealing { TMax = Math.Max(1, epochs * stepsPerEpoch) },
            Metric = TrainingMetric.Accuracy,
        };
        return new Preset(name, $"TensorFlow Playground {kind.ToString().ToLowerInvariant()}: MLP 2 -> {string.Join("x", hidden)} {activation} -> 1, BCE with logits",
            a, new Shape(2), recipe, Build, (_, seed) => PlaygroundData.Create(kind, points, noise, seed), PresetKind.Playground);
    }

    static Preset Fashion(string name, IReadOnlyDictionary<string, string> given, int latent, bool denoising)
    {
        var defaults = new Dictionary<string, string> { ["latent"] = latent.ToString(CultureInfo.InvariantCulture) };
        if (denoising) defaults["sigma"] = "0.3";
        var a = Merge(name, given, defaults);
        int z = Int(name, a, "latent");
        double sigma = denoising ? Number(name, a, "sigma") : 0;
        var recipe = new TrainingOptions { Epochs = 5, BatchSize = 128, LearningRate = 1e-3f, Optimizer = new Adam(), Metric = TrainingMetric.Psnr };
        var mode = denoising ? FashionMnistMode.Denoising : FashionMnistMode.Autoencoder;
        return new Preset(name, $"Fashion-MNIST {(denoising ? $"denoising autoencoder (noise sigma {sigma})" : "autoencoder")}, latent {z}, MSE",
            a, new Shape(1, 28, 28), recipe, () => PresetNetworks.FashionAutoencoder(z),
            (path, _) => FashionMnist.Load(path, mode, sigma), PresetKind.Autoencoder);
    }

    static Preset Inpaint(string name, IReadOnlyDictionary<string, string> given)
    {
        var a = Merge(name, given, new() { ["size"] = "64", ["channels"] = "32,64,128,256", ["images"] = "512", ["test_images"] = "64" });
        int size = Int(name, a, "size");
        var channels = Ints(name, a, "channels");
        int multiple = 1 << (channels.Length - 1);
        if (size < multiple || size % multiple != 0) throw new ArgumentException($"{name}: size {size} must be a multiple of {multiple} for {channels.Length} levels.");
        int images = Int(name, a, "images"), testImages = Int(name, a, "test_images");
        var recipe = new TrainingOptions { Epochs = 5, BatchSize = 8, LearningRate = 1e-3f, Optimizer = new Adam(), Metric = TrainingMetric.Psnr };
        (IDataset, IDataset) Data(string? path, int seed)
        {
            if (path != null)
            {
                var (train, test) = ImageFolderDataset.OpenSplit(path, size);
                return (new InpaintingDataset(train), new InpaintingDataset(test));
            }
            return (new InpaintingDataset(new ProceduralImages(images, size, size, seed)),
                new InpaintingDataset(new ProceduralImages(testImages, size, size, unchecked(seed + 1_000_003))));
        }
        return new Preset(name, $"inpainting UNet ({string.Join(",", channels)} channels) on {size}x{size} crops with brush-stroke and box masks, L1",
            a, new Shape(4, size, size), recipe, () => PresetNetworks.InpaintUNet(channels), Data, PresetKind.ImageToImage);
    }

    static Preset Denoise(string name, IReadOnlyDictionary<string, string> given)
    {
        var a = Merge(name, given, new() { ["size"] = "64", ["scenes"] = "64", ["test_scenes"] = "8", ["samples"] = "4", ["converged_samples"] = "256" });
        int size = Int(name, a, "size"), scenes = Int(name, a, "scenes"), testScenes = Int(name, a, "test_scenes");
        int samples = Int(name, a, "samples"), converged = Int(name, a, "converged_samples");
        if (size < 16 || size % 16 != 0) throw new ArgumentException($"{name}: size {size} must be a multiple of 16.");
        // 25 epochs of 16 steps: after 5 the network was still below the noisy input's PSNR (15.2 against 16.1 dB,
        // seed 0 on lavapipe); after 25, 20.7 dB.
        var recipe = new TrainingOptions { Epochs = 25, BatchSize = 4, LearningRate = 1e-3f, Optimizer = new Adam(), Metric = TrainingMetric.Psnr };
        return new Preset(name, $"denoiser UNet on {size}x{size} path-traced frames ({samples} samples per pixel + albedo + normal in, {converged}-sample render out), L1",
            a, new Shape(Models.DenoiseUNet.InputChannels, size, size), recipe, () => PresetNetworks.DenoiseUNet(),
            (_, seed) => (new RenderedFramesDataset(scenes, size, size, samples, converged, seed),
                new RenderedFramesDataset(testScenes, size, size, samples, converged, unchecked(seed + 1_000_003))),
            PresetKind.ImageToImage);
    }

    /// <summary>
    /// The inpainting demo's network exactly (<see cref="InpaintingDemo.DefaultChannels"/>, its input x = [image * (1 - mask), mask])
    /// on procedural images with brush-stroke and box masks: the weights the demo ships (demos/weights).
    /// </summary>
    static Preset DemoInpaint(string name, IReadOnlyDictionary<string, string> given)
    {
        var a = Merge(name, given, new() { ["size"] = "64", ["images"] = "512", ["test_images"] = "32" });
        int size = Int(name, a, "size"), images = Int(name, a, "images"), testImages = Int(name, a, "test_images");
        var channels = InpaintingDemo.DefaultChannels;
        int multiple = 1 << (channels.Length - 1);
        if (size < multiple || size % multiple != 0) throw new ArgumentException($"{name}: size {size} must be a multiple of {multiple}.");
        var recipe = new TrainingOptions { Epochs = 4, BatchSize = 8, LearningRate = 2e-3f, Optimizer = new Adam(), Metric = TrainingMetric.Psnr };
        return new Preset(name, $"the inpainting demo's UNet ({string.Join(",", channels)} channels) on {size}x{size} procedural images with brush-stroke and box masks, L1",
            a, new Shape(4, size, size), recipe, () => PresetNetworks.InpaintUNet(channels),
            (_, seed) => (new InpaintingDataset(new ProceduralImages(images, size, size, seed)),
                new InpaintingDataset(new ProceduralImages(testImages, size, size, unchecked(seed + 1_000_003)))),
            PresetKind.ImageToImage);
    }

    /// <summary>
    /// The denoising demo's network exactly (<see cref="PresetNetworks.DenoiseUNet"/> on 9 channels) on CPU path-traced
    /// frames in the demo's log-transfer space (<see cref="LogTransferDataset"/>), the noisy input and the reference at
    /// the demo's sample counts by default: the weights the demo ships (demos/weights).
    /// </summary>
    static Preset DemoDenoise(string name, IReadOnlyDictionary<string, string> given)
    {
        var a = Merge(name, given, new() { ["size"] = "64", ["scenes"] = "32", ["test_scenes"] = "4", ["samples"] = "2", ["converged_samples"] = "64" });
        int size = Int(name, a, "size"), scenes = Int(name, a, "scenes"), testScenes = Int(name, a, "test_scenes");
        int samples = Int(name, a, "samples"), converged = Int(name, a, "converged_samples");
        if (size < 16 || size % 16 != 0) throw new ArgumentException($"{name}: size {size} must be a multiple of 16.");
        var recipe = new TrainingOptions { Epochs = 4, BatchSize = 4, LearningRate = 1e-3f, Optimizer = new Adam(), Metric = TrainingMetric.Psnr };
        return new Preset(name, $"the denoising demo's UNet on {size}x{size} path-traced frames in log(1 + c) space ({samples} samples per pixel + albedo + normal in, {converged}-sample render out), L1",
            a, new Shape(Models.DenoiseUNet.InputChannels, size, size), recipe, () => PresetNetworks.DenoiseUNet(),
            (_, seed) => (new LogTransferDataset(new RenderedFramesDataset(scenes, size, size, samples, converged, seed)),
                new LogTransferDataset(new RenderedFramesDataset(testScenes, size, size, samples, converged, unchecked(seed + 1_000_003)))),
            PresetKind.ImageToImage);
    }
}
