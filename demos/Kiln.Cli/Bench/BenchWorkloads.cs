using Kiln.Models;

namespace Kiln.Cli.Bench;

/// <summary>
/// Every workload of BENCHMARKS.md (the ids are torch_peer.py's), and the fashion-ae preset's training step, each
/// compiled through Kiln's graph. The small
/// sizes keep each network's structure and shrink images, channels or batch so a run takes seconds on lavapipe.
/// </summary>
internal static class BenchWorkloads
{
    public static IReadOnlyList<BenchWorkload> All { get; } = new[]
    {
        ConvForward("conv3x3_c64_512", 64, 512, 16, 32),
        ConvBackward("conv3x3_c64_512", 64, 512, 16, 32),
        ConvForward("conv3x3_c256_128", 256, 128, 32, 16),
        ConvBackward("conv3x3_c256_128", 256, 128, 32, 16),
        Denoise(1280, 720, 64, 32),
        Denoise(1920, 1088, 96, 48),
        new BenchWorkload("inpaint_unet_256_b8_train_step", "inpainting UNet, L1 loss, Adam: one training step", size =>
        {
            int n = size == BenchSize.Full ? 8 : 1, hw = size == BenchSize.Full ? 256 : 32;
            return BenchSetup.TrainingStep(InpaintUNet.BuildForTraining(),
                new() { ["x"] = new Shape(n, 4, hw, hw), ["target"] = new Shape(n, 3, hw, hw) }, new Adam(), 1e-3f);
        }),
        new BenchWorkload("conv_autoencoder_64_b64_train_step", "conv autoencoder 64x64 RGB, latent 128, MSE, Adam: one training step", size =>
        {
            int n = size == BenchSize.Full ? 64 : 1;
            var image = new Shape(n, 3, 64, 64);
            return BenchSetup.TrainingStep(ConvAutoencoder64(), new() { ["x"] = image, ["target"] = image }, new Adam(), 1e-3f);
        }),
        new BenchWorkload("mlp_64x4_b262144_train_step", "MLP 3 -> 64 x4 (ReLU) -> 3, MSE, SGD: one training step", size =>
        {
            int n = size == BenchSize.Full ? 262144 : 2048;
            var net = new Sequential(new Linear(3, 64), new ReLU(), new Linear(64, 64), new ReLU(), new Linear(64, 64), new ReLU(),
                new Linear(64, 64), new ReLU(), new Linear(64, 3)).WithLoss(new MseLoss());
            return BenchSetup.TrainingStep(net, new() { ["x"] = new Shape(n, 3), ["target"] = new Shape(n, 3) }, new Sgd(), 1e-2f);
        }),
        // Not in BENCHMARKS.md (no peer row): the fashion-ae preset's training step, as `kiln bench fashion-ae-step` runs it.
        new BenchWorkload("fashion_ae_b128_train_step", "fashion-ae (28x28 grey, latent 32), MSE, Adam: one training step", size =>
        {
            var image = new Shape(size == BenchSize.Full ? 128 : 8, 1, 28, 28);
            return BenchSetup.TrainingStep(FashionAutoencoder.Build(), new() { ["x"] = image, ["target"] = image }, new Adam(), 1e-3f);
        }),
        new BenchWorkload("playground_mlp_b256_train_step", "MLP 2 -> 8 -> 8 -> 1 (tanh), MSE, SGD: one training step (latency bound)", _ =>
            BenchSetup.TrainingStep(PlaygroundMlp.Build(), new() { ["x"] = new Shape(256, 2), ["target"] = new Shape(256, 1) }, new Sgd(), 0.03f)),
    };

    /// <summary>
    /// Not in BENCHMARKS.md, run only when named (`kiln bench bandwidth`): the bandwidth-bound passes alone on large
    /// tensors, against the target of 80% of the copy bandwidth (pooling, upsampling, elementwise, optimizer updates).
    /// Each row is the step's bytes (every dispatch's values, once per direction) over its GPU time; --kernels shows each
    /// dispatch's share. At fp16 the tensors are f16 end to end (the bench's f16 inputs and outputs); the Adam step's
    /// parameters and moments stay f32.
    /// </summary>
    public static IReadOnlyList<BenchWorkload> BandwidthBound { get; } = new[]
    {
        Pass("bandwidth_relu", "ReLU over [1, 64, 1024, 1024] (256 MiB at f32)", () => new ReLU(), new Shape(1, 64, 1024, 1024), new Shape(1, 8, 64, 64)),
        Pass("bandwidth_maxpool2x2", "2x2 max pool over [8, 64, 512, 512]", () => new MaxPool2d(2), new Shape(8, 64, 512, 512), new Shape(1, 8, 64, 64)),
        Pass("bandwidth_upsample2x", "2x nearest upsampling of [8, 64, 256, 256]", () => new Upsample(2, UpsampleMode.Nearest),
            new Shape(8, 64, 256, 256), new Shape(1, 8, 32, 32)),
        new BenchWorkload("bandwidth_add", "x + y over [1, 64, 1024, 1024] each", size =>
        {
            var shape = size == BenchSize.Full ? new Shape(1, 64, 1024, 1024) : new Shape(1, 8, 64, 64);
            var net = new Network();
            net.Output(net.Add(new Add(), "add", net.Input("x"), net.Input("y")), "z");
            return BenchSetup.Inference(net, new() { ["x"] = shape, ["y"] = shape });
        }) { Bandwidth = true },
        new BenchWorkload("bandwidth_adam", "Linear 4096 -> 4096 (16.8M parameters), batch 16, MSE, Adam: one training step", size =>
        {
            int features = size == BenchSize.Full ? 4096 : 256, n = size == BenchSize.Full ? 16 : 4;
            var net = new Sequential(new Linear(features, features)).WithLoss(new MseLoss());
            return BenchSetup.TrainingStep(net, new() { ["x"] = new Shape(n, features), ["target"] = new Shape(n, features) }, new Adam(), 1e-3f);
        }) { Bandwidth = true },
    };

    /// <summary>
    /// Not in BENCHMARKS.md, run only when named (`kiln bench gemm`): one 4096 x 4096 x 4096 product, forward, through
    /// Linear (x [4096, 4096] times its f32 weight's transpose) and through a 1x1 convolution (4096 -> 4096 channels over
    /// 64 x 64 pixels: the convolution kernels' implicit GEMM with no halo, K the input channels). Their TFLOP/s, and under
    /// KILN_TUNING_TRACE each candidate kernel's time, compare with the plain GEMMs of TOOLCHAIN.md on the same GPU (a naive
    /// KHR cooperative-matrix GEMM 57-60 TFLOP/s at 4096^3, cooperative_matrix2 with tensor addressing up to 315): whether
    /// a convolution's shortfall is its kernels' GEMM machinery or its 3x3 staging.
    /// </summary>
    public static IReadOnlyList<BenchWorkload> Diagnostics { get; } = new[]
    {
        new BenchWorkload("gemm_linear_4096", "Linear 4096 -> 4096, batch 4096, forward: a 4096^3 product", size =>
        {
            int n = size == BenchSize.Full ? 4096 : 64;
            var net = new Network();
            net.Output(net.Add(new Linear(n, n), "linear", net.Input("x")), "y");
            return BenchSetup.Inference(net, new() { ["x"] = new Shape(n, n) });
        }),
        new BenchWorkload("gemm_conv1x1_4096", "1x1 conv 4096 -> 4096 ch at 64x64, forward: a 4096^3 product", size =>
        {
            int c = size == BenchSize.Full ? 4096 : 64, hw = size == BenchSize.Full ? 64 : 8;
            var net = new Network();
            net.Output(net.Add(new Conv2d(c, c, 1), "conv", net.Input("x")), "y");
            return BenchSetup.Inference(net, new() { ["x"] = new Shape(1, c, hw, hw) });
        }),
    };

    /// <summary>The workloads run only when a word names them: <see cref="BandwidthBound"/> and <see cref="Diagnostics"/>.</summary>
    public static IEnumerable<BenchWorkload> Named => BandwidthBound.Concat(Diagnostics);

    /// <summary>Every workload `kiln bench` and `kiln plan` know by id.</summary>
    public static IEnumerable<BenchWorkload> Known => All.Concat(Named);

    /// <summary>
    /// The workloads whose id contains one of <paramref name="words"/> (all of <see cref="All"/> when there are none), as
    /// torch_peer.py picks; <see cref="Named"/>'s too where a word names them.
    /// </summary>
    public static IReadOnlyList<BenchWorkload> Matching(IReadOnlyCollection<string> words) =>
        words.Count == 0 ? All : Known.Where(w => words.Any(o => w.Id.Contains(o, StringComparison.Ordinal))).ToList();

    /// <summary>One layer on one input, forward (a bandwidth-bound pass).</summary>
    static BenchWorkload Pass(string id, string what, Func<Layer> layer, Shape full, Shape small) =>
        new(id, what, size =>
        {
            var net = new Network();
            net.Output(net.Add(layer(), "pass", net.Input("x")), "y");
            return BenchSetup.Inference(net, new() { ["x"] = size == BenchSize.Full ? full : small });
        }) { Bandwidth = true };

    static BenchWorkload ConvForward(string id, int c, int hw, int smallC, int smallHw) =>
        new(id + "_fwd", $"3x3 conv, pad 1, bias, {c} -> {c} ch at {hw}x{hw}: forward", size =>
        {
            var (ch, s) = size == BenchSize.Full ? (c, hw) : (smallC, smallHw);
            var net = new Network();
            net.Output(net.Add(new Conv2d(ch, ch, 3, padding: 1), "conv", net.Input("x")));
            return BenchSetup.Inference(net, new() { ["x"] = new Shape(1, ch, s, s) });
        });

    // As the peer's autograd.grad(conv(x), [x, weight], g): the forward again, then the input, weight and bias gradients
    // from the given output gradient g (SetOutputGradient), no loss and no update (UpdateParameters false). Only x's
    // gradient is kept, and y is no output of its own (at fp16 it would be converted to f32 for the host every step).
    static BenchWorkload ConvBackward(string id, int c, int hw, int smallC, int smallHw) =>
        new(id + "_bwd", $"3x3 conv, pad 1, bias, {c} -> {c} ch at {hw}x{hw}: forward + input and weight gradients", size =>
        {
            var (ch, s) = size == BenchSize.Full ? (c, hw) : (smallC, smallHw);
            var net = new Network();
            var y = net.Add(new Conv2d(ch, ch, 3, padding: 1), "conv", net.Input("x"));
            net.SetOutputGradient(y, net.Input("grad_y"));
            var shape = new Shape(1, ch, s, s);
            var inputs = new Dictionary<string, Shape> { ["x"] = shape, ["grad_y"] = shape };
            var options = new CompileOptions
            {
                InputShapes = inputs, Training = true, UpdateParameters = false, InputGradients = true, InputGradientNames = new[] { "x" },
            };
            return new BenchSetup(net, inputs, options, 3 * FlopCounter.Forward(net, inputs));
        });

    static BenchWorkload Denoise(int w, int h, int smallW, int smallH) =>
        new($"denoise_unet_{w}x{h}_infer", $"OIDN-style denoiser UNet, 9 -> 3 ch at {w}x{h}: inference", size =>
        {
            var (sw, sh) = size == BenchSize.Full ? (w, h) : (smallW, smallH);
            return BenchSetup.Inference(DenoiseUNet.Build(), new() { ["x"] = new Shape(1, DenoiseUNet.InputChannels, sh, sw) });
        });

    /// <summary>torch_peer.py's ConvAE: four stride-2 4x4 convs to 256 x 4 x 4, a 128 latent, and the mirror image to a sigmoid.</summary>
    static Network ConvAutoencoder64() => new Sequential(
        new Conv2d(3, 32, 4, 2, 1), new ReLU(), new Conv2d(32, 64, 4, 2, 1), new ReLU(),
        new Conv2d(64, 128, 4, 2, 1), new ReLU(), new Conv2d(128, 256, 4, 2, 1), new ReLU(),
        new Flatten(), new Linear(256 * 16, 128),
        new Linear(128, 256 * 16), new Reshape(256, 4, 4), new ReLU(),
        new ConvTranspose2d(256, 128, 4, 2, 1), new ReLU(), new ConvTranspose2d(128, 64, 4, 2, 1), new ReLU(),
        new ConvTranspose2d(64, 32, 4, 2, 1), new ReLU(), new ConvTranspose2d(32, 3, 4, 2, 1), new Sigmoid()).WithLoss(new MseLoss());
}
