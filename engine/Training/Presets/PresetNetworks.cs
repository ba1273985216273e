using Kiln.Models;

namespace Kiln.Training.Presets;

/// <summary>
/// The presets' networks, their nodes named as PyTorch names the same modules, so parameter names are
/// PyTorch's state-dict keys: nn.Sequential children by index ("0.weight"), the autoencoder's two halves as
/// "encoder.N" and "decoder.N". Each has its loss against a "target" input.
/// </summary>
public static class PresetNetworks
{
    /// <summary>
    /// The playground MLP: 2 -> hidden... -> 1 logit with BCE-with-logits; PyTorch:
    /// nn.Sequential(Linear(2, h0), act, Linear(h0, h1), act, ..., Linear(hn, 1)).
    /// </summary>
    public static Network PlaygroundMlp(IReadOnlyList<int> hidden, string activation = "tanh")
    {
        var net = new Network();
        var x = net.Input("x");
        int width = 2, index = 0;
        foreach (var h in hidden)
        {
            x = net.Add(new Linear(width, h), $"{index++}", x);
            x = net.Add(Activation(activation), $"{index++}", x);
            width = h;
        }
        x = net.Add(new Linear(width, 1), $"{index}", x);
        net.Output(x, "y");
        net.SetLoss(new BceWithLogitsLoss(), x, net.Input("target"));
        return net;
    }

    static Layer Activation(string name) => name switch
    {
        "tanh" => new Tanh(),
        "relu" => new ReLU(),
        "sigmoid" => new Sigmoid(),
        _ => throw new ArgumentException($"Unknown activation '{name}' (tanh, relu, sigmoid)."),
    };

    /// <summary>
    /// The Fashion-MNIST autoencoder of MODELS.md with an MSE loss and a "latent" output; PyTorch:
    /// encoder = nn.Sequential(Conv2d(1, 16, 3, 2, 1), ReLU(), Conv2d(16, 32, 3, 2, 1), ReLU(), Flatten(), Linear(1568, latent)),
    /// decoder = nn.Sequential(Linear(latent, 1568), ReLU(), Unflatten(1, (32, 7, 7)), ConvTranspose2d(32, 16, 3, 2, 1, 1), ReLU(),
    /// ConvTranspose2d(16, 1, 3, 2, 1, 1), Sigmoid()).
    /// </summary>
    public static Network FashionAutoencoder(int latent)
    {
        if (latent < 1) throw new ArgumentException($"The latent size must be >= 1, got {latent}.");
        var net = new Network();
        var x = net.Input("x");
        Node Chain(string prefix, Node from, params Layer[] layers)
        {
            for (int i = 0; i < layers.Length; i++) from = net.Add(layers[i], $"{prefix}.{i}", from);
            return from;
        }
        var z = Chain("encoder", x,
            new Conv2d(1, 16, 3, stride: 2, padding: 1), new ReLU(),
            new Conv2d(16, 32, 3, stride: 2, padding: 1), new ReLU(),
            new Flatten(), new Linear(32 * 7 * 7, latent));
        var y = Chain("decoder", z,
            new Linear(latent, 32 * 7 * 7), new ReLU(), new Reshape(32, 7, 7),
            new ConvTranspose2d(32, 16, 3, stride: 2, padding: 1, outputPadding: 1), new ReLU(),
            new ConvTranspose2d(16, 1, 3, stride: 2, padding: 1, outputPadding: 1), new Sigmoid());
        net.Output(y, "y");
        net.Output(z, "latent");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return net;
    }

    /// <summary>
    /// The inpainting UNet of BENCHMARKS.md (RGB + mask in, RGB out) with an L1 loss on the whole image. Its
    /// nodes keep Kiln's names ("conv2d_0"), which are valid PyTorch attribute names of a flat module.
    /// </summary>
    public static Network InpaintUNet(params int[] channels) => Models.InpaintUNet.BuildForTraining(channels);

    /// <summary>
    /// The denoiser UNet of BENCHMARKS.md (color, albedo, normal in; color out) with an L1 loss, on
    /// <paramref name="inputChannels"/> input channels (the denoising demo's 12 with feedback).
    /// </summary>
    public static Network DenoiseUNet(int inputChannels = Models.DenoiseUNet.InputChannels)
    {
        var net = Models.DenoiseUNet.Build(inputChannels);
        net.SetLoss(new L1Loss(), net.Outputs[0].Node, net.Input("target"));
        return net;
    }
}
