namespace Kiln.Models;

/// <summary>The built-in networks by name, with the input shapes they are compiled for.</summary>
public static class ModelCatalog
{
    public static readonly IReadOnlyList<string> Names = new[] { "denoise-unet", "inpaint-unet", "fashion-ae", "playground-mlp" };

    /// <summary>
    /// The network and its input shapes for an image of <paramref name="width"/> x <paramref name="height"/>
    /// (ignored by the MLP) and <paramref name="batch"/>; with <paramref name="training"/> the loss and its
    /// target inputs are included.
    /// </summary>
    public static (Network Network, Dictionary<string, Shape> Inputs) Build(string name, int width, int height, int batch, bool training)
    {
        switch (name)
        {
            case "denoise-unet":
            {
                var net = DenoiseUNet.Build();
                var inputs = new Dictionary<string, Shape> { ["x"] = new Shape(batch, DenoiseUNet.InputChannels, height, width) };
                if (training)
                {
                    net.SetLoss(new L1Loss(), net.Outputs[0].Node, net.Input("target"));
                    inputs["target"] = new Shape(batch, 3, height, width);
                }
                return (net, inputs);
            }
            case "inpaint-unet":
            {
                var net = training ? InpaintUNet.BuildForTraining() : InpaintUNet.Build();
                var inputs = new Dictionary<string, Shape> { ["x"] = new Shape(batch, 4, height, width) };
                if (training) inputs["target"] = new Shape(batch, 3, height, width);
                return (net, inputs);
            }
            case "fashion-ae":
                return (FashionAutoencoder.Build(), new Dictionary<string, Shape>
                {
                    ["x"] = new Shape(batch, 1, 28, 28),
                    ["target"] = new Shape(batch, 1, 28, 28),
                });
            case "playground-mlp":
                return (PlaygroundMlp.Build(), new Dictionary<string, Shape>
                {
                    ["x"] = new Shape(batch, 2),
                    ["target"] = new Shape(batch, 1),
                });
            default:
                throw new ArgumentException($"Unknown model '{name}'; built-in models: {string.Join(", ", Names)}.");
        }
    }
}
