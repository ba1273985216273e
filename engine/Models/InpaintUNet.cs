namespace Kiln.Models;

/// <summary>
/// The inpainting UNet (BENCHMARKS.md): RGB + mask in (4 channels), RGB out through a sigmoid. Four levels
/// of two 3x3 conv + ReLU (32, 64, 128, 256 channels by default), max-pool down, nearest up + concat skip,
/// a 1x1 conv to 3 channels. H and W divisible by 8.
/// </summary>
public static class InpaintUNet
{
    public static Network Build(params int[] channels)
    {
        if (channels.Length == 0) channels = new[] { 32, 64, 128, 256 };
        var net = new Network();
        var x = net.Input("x");
        Node Block(Node n, int cin, int cout)
        {
            n = net.Add(new ReLU(), net.Add(new Conv2d(cin, cout, 3, padding: 1), n));
            return net.Add(new ReLU(), net.Add(new Conv2d(cout, cout, 3, padding: 1), n));
        }
        var skips = new Stack<(Node Node, int Channels)>();
        int c = 4;
        for (int i = 0; i < channels.Length; i++)
        {
            x = Block(x, c, channels[i]);
            c = channels[i];
            if (i < channels.Length - 1)
            {
                skips.Push((x, c));
                x = net.Add(new MaxPool2d(2), x);
            }
        }
        while (skips.Count > 0)
        {
            var (skip, sc) = skips.Pop();
            x = net.Add(new Concat(), net.Add(new Upsample(2, UpsampleMode.Nearest), x), skip);
            x = Block(x, c + sc, sc);
            c = sc;
        }
        x = net.Add(new Sigmoid(), net.Add(new Conv2d(c, 3, 1), x));
        net.Output(x, "y");
        return net;
    }

    /// <summary>The network with an L1 loss against a "target" input, as trained in BENCHMARKS.md.</summary>
    public static Network BuildForTraining(params int[] channels)
    {
        var net = Build(channels);
        net.SetLoss(new L1Loss(), net.Outputs[0].Node, net.Input("target"));
        return net;
    }
}
