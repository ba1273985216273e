namespace Kiln.Models;

/// <summary>
/// The OIDN-style denoiser UNet (BENCHMARKS.md): color, albedo and normal (9 channels) in, color out.
/// 3x3 convs with ReLU, 2x2 max-pool down, 2x nearest up, concatenated skips; H and W divisible by 16.
/// <see cref="Build(int)"/> takes more input channels for extra guides (e.g. the previous denoised frame, 12 channels).
/// </summary>
public static class DenoiseUNet
{
    public const int InputChannels = 9, OutputChannels = 3;

    /// <summary>The UNet on <paramref name="inputChannels"/> input channels (default <see cref="InputChannels"/>).</summary>
    public static Network Build(int inputChannels = InputChannels)
    {
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "At least one input channel.");
        const int e1 = 32, e2 = 48, e3 = 64, e4 = 80, e5 = 96, d4 = 112, d3 = 96, d2 = 64, d1 = 64;
        var net = new Network();
        var input = net.Input("x");
        Node Conv(Node x, int cin, int cout, bool relu = true)
        {
            var c = net.Add(new Conv2d(cin, cout, 3, padding: 1), x);
            return relu ? net.Add(new ReLU(), c) : c;
        }
        Node Pool(Node x) => net.Add(new MaxPool2d(2), x);
        Node Up(Node x) => net.Add(new Upsample(2, UpsampleMode.Nearest), x);
        Node Cat(Node a, Node b) => net.Add(new Concat(), a, b);

        var x = Conv(input, inputChannels, e1);
        x = Conv(x, e1, e1);
        var p1 = x = Pool(x);
        x = Conv(x, e1, e2);
        var p2 = x = Pool(x);
        x = Conv(x, e2, e3);
        var p3 = x = Pool(x);
        x = Conv(x, e3, e4);
        x = Pool(x);
        x = Conv(x, e4, e5);
        x = Conv(x, e5, e5);
        x = Cat(Up(x), p3);
        x = Conv(x, e5 + e3, d4);
        x = Conv(x, d4, d4);
        x = Cat(Up(x), p2);
        x = Conv(x, d4 + e2, d3);
        x = Conv(x, d3, d3);
        x = Cat(Up(x), p1);
        x = Conv(x, d3 + e1, d2);
        x = Conv(x, d2, d2);
        x = Cat(Up(x), input);
        x = Conv(x, d2 + inputChannels, d1);
        x = Conv(x, d1, d1);
        x = Conv(x, d1, OutputChannels, relu: false);
        net.Output(x, "y");
        return net;
    }
}
