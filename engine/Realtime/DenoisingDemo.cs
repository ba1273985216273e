using Kiln.Models;
using Kiln.Training;

namespace Kiln.Realtime;

/// <summary>
/// Live denoising: every frame the GPU path tracer renders a noisy few-sample image with albedo and normal guides
/// and a many-sample reference of the same view; the <see cref="DenoiseUNet"/> denoises the noisy one (input and
/// output in the log-transfer space log(1 + c)) and, while <see cref="RealtimeDemo.Training"/> is on, trains
/// online against the reference (L1 in that space). Three tone-mapped panels side by side: noisy, denoised,
/// reference; "psnr_noisy" and "psnr_denoised" (dB, against the reference panel's 8-bit values) are the metrics,
/// with "flicker_denoised" and "flicker_reference": the mean absolute change of the panel's displayed values (0..1)
/// since the previous frame, for temporal stability (the camera moves slowly, so the reference's flicker is the
/// motion's share). With <see cref="Feedback"/> the network takes 3 more input channels: the previous frame's denoised
/// output (log space; the noisy colour on the first frame), in inference and in training alike, for temporal stability.
/// </summary>
public sealed class DenoisingDemo : RealtimeDemo
{
    readonly int w, h;
    readonly PathTracedScene scene;
    readonly Tensor colour, albedo, normal, reference;
    readonly OnlineNetwork net;
    byte[]? previous;
    bool fedBack;

    /// <summary>Frames of <paramref name="width"/> x <paramref name="height"/> (multiples of 16) of the scene of <paramref name="sceneSeed"/>.</summary>
    /// With <paramref name="feedback"/> the previous denoised frame is an extra input (see <see cref="Feedback"/>).
    public DenoisingDemo(GpuContext context, int width, int height, int samples = 2, int referenceSamples = 64, int sceneSeed = 3, float learningRate = 1e-3f, int seed = 1,
        bool feedback = false)
        : base(context, 3 * width, height)
    {
        Feedback = feedback;
        if (width % 16 != 0 || height % 16 != 0) throw new ArgumentException($"Denoising frames must be multiples of 16 pixels a side (the UNet pools four times); got {width}x{height}.");
        if (samples < 1 || referenceSamples < samples) throw new ArgumentOutOfRangeException(nameof(referenceSamples), $"Need 1 <= samples ({samples}) <= reference samples ({referenceSamples}).");
        (w, h) = (width, height);
        Samples = samples;
        ReferenceSamples = referenceSamples;
        var plane = new Shape(3, h, w);
        colour = new Tensor(context, plane, name: "path-traced colour");
        albedo = new Tensor(context, plane, name: "path-traced albedo");
        normal = new Tensor(context, plane, name: "path-traced normal");
        reference = new Tensor(context, plane, name: "path-traced reference");
        try
        {
            scene = new PathTracedScene(context, sceneSeed);
            var training = Kiln.Training.Presets.PresetNetworks.DenoiseUNet(InputChannels);
            var x = new Shape(1, InputChannels, h, w);
            net = OnlineNetwork.ForImages(context, DenoiseUNet.Build(InputChannels), training, x, 3, learningRate, seed);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public override string Name => "denoise";
    /// <summary>Paths per pixel of the noisy input.</summary>
    public int Samples { get; }
    /// <summary>Paths per pixel of the reference.</summary>
    public int ReferenceSamples { get; }
    /// <summary>Whether the previous frame's denoised output is fed back as 3 more input channels.</summary>
    public bool Feedback { get; }
    /// <summary>The network's input channels: colour, albedo, normal (9), plus the previous output (3) with <see cref="Feedback"/>.</summary>
    public int InputChannels => DenoiseUNet.InputChannels + (Feedback ? DenoiseUNet.OutputChannels : 0);

    /// <summary>File name of the weights the demo ships (the 9-channel network: not with <see cref="Feedback"/>): made by demos/weights/make-weights.sh.</summary>
    public const string ShippedWeights = "demo-denoise.f16.safetensors";

    /// <summary>
    /// Starts from the parameters of the checkpoint at <paramref name="path"/> (a <c>kiln train</c> checkpoint or its
    /// F16 export) in both the inference and the training network; a file that doesn't fit this demo's network throws
    /// a <see cref="KilnException"/> naming the file and the first mismatching tensor. Online training then goes on from
    /// them at <paramref name="learningRateFactor"/> times the demo's learning rate.
    /// </summary>
    public void LoadWeights(string path, float learningRateFactor = OnlineNetwork.PretrainedLearningRateFactor) => net.Load(Checkpoint.Read(path), learningRateFactor);

    /// <summary>The training and inference networks.</summary>
    internal OnlineNetwork Network => net;

    internal override IReadOnlyList<string> ScalarNames { get; } = new[] { "loss" };

    internal override void Record(Frame frame)
    {
        var size = Frame.Push(w, h);
        bool train = Training && TrainingStepsPerFrame > 0;
        uint seed = (uint)frame.Index * 2u;
        frame.BeginStage(FrameStage.Scene);
        scene.Record(frame, frame.Time, w, h, Samples, seed, colour, albedo, normal);
        scene.Record(frame, frame.Time, w, h, ReferenceSamples, seed + 1, reference);
        frame.Barrier();
        frame.Dispatch2D("denoise_input", w, h, size, Array.Empty<uint>(), colour, albedo, normal, net.Infer.Inputs["x"]);
        if (train)
        {
            frame.Dispatch2D("denoise_input", w, h, size, Array.Empty<uint>(), colour, albedo, normal, net.Train.Inputs["x"]);
            frame.Dispatch1D("log_transfer", 3 * w * h, Frame.Push(3 * w * h), Array.Empty<uint>(), reference, net.Train.Inputs["target"]);
        }
        if (Feedback)
        {
            // y still holds the previous frame's output (this frame's inference runs later); the first frame has none,
            // so it takes the noisy colour (log space, channels 0..2 of x) in its place.
            long plane = (long)w * h, at = (long)DenoiseUNet.InputChannels * plane;
            var (source, from) = fedBack ? (net.Infer.Outputs["y"], 0L) : (net.Infer.Inputs["x"], 0L);
            frame.CopyRange(source, from, net.Infer.Inputs["x"], at, 3 * plane);
            if (train) frame.CopyRange(source, from, net.Train.Inputs["x"], at, 3 * plane);
            fedBack = true;
        }
        frame.EndStage();
        if (train)
        {
            frame.BeginStage(FrameStage.Training);
            net.RecordTraining(frame, TrainingStepsPerFrame, lossSlot: 0);
            frame.EndStage();
        }
        frame.BeginStage(FrameStage.Network);
        net.Infer.Record(frame.List);
        frame.EndStage();
        frame.BeginStage(FrameStage.Composite);
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, 0, 0), new uint[] { 2 }, colour, frame.Display);
        frame.Barrier();
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, w, 0), new uint[] { 3 }, net.Infer.Outputs["y"], frame.Display);
        frame.Barrier();
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, 2 * w, 0), new uint[] { 2 }, reference, frame.Display);
        frame.EndStage();
    }

    internal override void AddMetrics(ReadOnlySpan<byte> rgba, Dictionary<string, double> metrics)
    {
        metrics["psnr_noisy"] = PanelPsnr(rgba, 0, 2);
        metrics["psnr_denoised"] = PanelPsnr(rgba, 1, 2);
        if (previous != null)
        {
            metrics["flicker_denoised"] = PanelChange(rgba, previous, 1);
            metrics["flicker_reference"] = PanelChange(rgba, previous, 2);
        }
        previous = rgba.ToArray();
    }

    /// <summary>Mean |a - b| / 255 over panel <paramref name="panel"/>'s RGB in two displayed frames.</summary>
    double PanelChange(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int panel)
    {
        long sum = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    int i = (y * Width + panel * w + x) * 4 + c;
                    sum += Math.Abs(a[i] - b[i]);
                }
        return sum / (255.0 * 3 * w * h);
    }

    /// <summary>PSNR in dB between panels <paramref name="a"/> and <paramref name="b"/> of the displayed RGBA8 frame (RGB only).</summary>
    double PanelPsnr(ReadOnlySpan<byte> rgba, int a, int b)
    {
        double sum = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    double d = rgba[(y * Width + a * w + x) * 4 + c] - rgba[(y * Width + b * w + x) * 4 + c];
                    sum += d * d;
                }
        double mse = sum / (3.0 * w * h);
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    public override void Dispose()
    {
        net?.Dispose();
        scene?.Dispose();
        colour?.Dispose();
        albedo?.Dispose();
        normal?.Dispose();
        reference?.Dispose();
    }
}
