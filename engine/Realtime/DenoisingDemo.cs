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
/// Inference runs on the whole frame; training runs on <see cref="TrainingBatch"/> square crops of
/// <see cref="TrainingCrop"/> pixels a side per step, cut on the GPU at pseudo-random positions (new ones every step,
/// from the frame index, the step and the seed) out of the frame's network input and its log-transferred reference,
/// as OIDN trains its UNet on crops; <see cref="TrainingCrop"/> 0 trains on the whole frame.
/// </summary>
public sealed class DenoisingDemo : RealtimeDemo
{
    readonly int w, h;
    readonly PathTracedScene scene;
    readonly Tensor colour, albedo, normal, reference;
    readonly OnlineNetwork net;
    readonly uint cropSeed;
    byte[]? previous;
    bool fedBack;

    /// <summary>
    /// Frames of <paramref name="width"/> x <paramref name="height"/> (multiples of 16) of the scene of
    /// <paramref name="sceneSeed"/>; <paramref name="seed"/> seeds the network's initial weights and the crop positions.
    /// With <paramref name="feedback"/> the previous denoised frame is an extra input (see <see cref="Feedback"/>).
    /// Training takes <paramref name="trainingBatch"/> crops of <paramref name="trainingCrop"/> pixels a side per step
    /// (see <see cref="TrainingCropFor"/> for the defaults and the limits); a crop of 0 trains on the whole frame.
    /// <paramref name="precision"/> Fp16 stores the network's activations as f16 (<see cref="CompileOptions.Precision"/>);
    /// <paramref name="layout"/> pins their layout (null: each compile chooses, <see cref="CompileOptions.ActivationLayout"/>).
    /// </summary>
    public DenoisingDemo(GpuContext context, int width, int height, int samples = 2, int referenceSamples = 64, int sceneSeed = 3, float learningRate = 1e-3f, int seed = 1,
        bool feedback = false, int? trainingCrop = null, int? trainingBatch = null, Precision precision = Precision.Fp32, TensorLayout? layout = null)
        : base(context, 3 * width, height)
    {
        Feedback = feedback;
        if (width % 16 != 0 || height % 16 != 0) throw new ArgumentException($"Denoising frames must be multiples of 16 pixels a side (the UNet pools four times); got {width}x{height}.");
        if (samples < 1 || referenceSamples < samples) throw new ArgumentOutOfRangeException(nameof(referenceSamples), $"Need 1 <= samples ({samples}) <= reference samples ({referenceSamples}).");
        (TrainingCrop, TrainingBatch) = TrainingCropFor(width, height, trainingCrop, trainingBatch);
        cropSeed = unchecked((uint)seed);
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
            var trainX = TrainingCrop == 0 ? x : new Shape(TrainingBatch, InputChannels, TrainingCrop, TrainingCrop);
            net = OnlineNetwork.ForImages(context, DenoiseUNet.Build(InputChannels), training, x, 3, learningRate, seed, trainX, precision, layout);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public override string Name => "denoise";
    public override TensorLayout InferenceLayout => net.Infer.ActivationLayout;
    public override TensorLayout TrainingLayout => net.Train.ActivationLayout;
    /// <summary>Paths per pixel of the noisy input.</summary>
    public int Samples { get; }
    /// <summary>Paths per pixel of the reference.</summary>
    public int ReferenceSamples { get; }
    /// <summary>Whether the previous frame's denoised output is fed back as 3 more input channels.</summary>
    public bool Feedback { get; }
    /// <summary>Side in pixels of the square crops training takes (a multiple of 16); 0: training takes the whole frame.</summary>
    public int TrainingCrop { get; }
    /// <summary>Crops per training step (1 for the whole frame).</summary>
    public int TrainingBatch { get; }
    /// <summary>The crop side training takes by default (OIDN's training crops are of this order), less on a smaller frame.</summary>
    public const int DefaultTrainingCrop = 128;
    /// <summary>Crops per training step by default, less where they would hold more pixels than the frame.</summary>
    public const int DefaultTrainingBatch = 4;

    /// <summary>
    /// The crop side and batch training uses on a <paramref name="width"/> x <paramref name="height"/> frame when
    /// <paramref name="crop"/> and <paramref name="batch"/> are asked for (null: the default). The default crop is
    /// <see cref="DefaultTrainingCrop"/>, reduced to the frame's smaller side; the default batch is
    /// <see cref="DefaultTrainingBatch"/>, reduced so the crops hold no more pixels than the frame (at least 1). A crop
    /// must be a multiple of 16 (the UNet pools four times) no larger than the frame's smaller side, a batch 1 to 64;
    /// anything else is an <see cref="ArgumentException"/>. Crop 0, or one crop covering the whole frame, is whole-frame
    /// training: (0, 1); a batch of more than 1 then is an error, since its items would all be the same frame.
    /// </summary>
    public static (int Crop, int Batch) TrainingCropFor(int width, int height, int? crop, int? batch)
    {
        int smaller = Math.Min(width, height);
        if (batch is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The training batch must be 1 to 64 crops.");
        if (crop == 0)
        {
            if (batch > 1) throw new ArgumentException($"A training batch of {batch} needs crops: whole-frame training (crop 0) takes one frame a step.", nameof(batch));
            return (0, 1);
        }
        if (crop is { } c && (c < 0 || c % 16 != 0))
            throw new ArgumentException($"The training crop must be a positive multiple of 16 pixels (the UNet pools four times), or 0 for the whole frame; got {c}.", nameof(crop));
        if (crop > smaller)
            throw new ArgumentException($"A training crop of {crop} pixels is larger than the {width}x{height} frame's smaller side ({smaller}).", nameof(crop));
        int side = crop ?? Math.Min(DefaultTrainingCrop, smaller);
        int b = batch ?? (int)Math.Clamp((long)width * height / ((long)side * side), 1, DefaultTrainingBatch);
        if (side < width || side < height) return (side, b);
        if (b > 1) throw new ArgumentException($"A training batch of {b} crops of {side} pixels would be {b} copies of the whole {width}x{height} frame.", nameof(batch));
        return (0, 1);
    }

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
    /// <summary>The frame's reference render [3, H, W] (linear HDR), which training's targets are cut from.</summary>
    internal Tensor Reference => reference;
    /// <summary>The seed of the training crops' positions (<see cref="RandomCrops.Position"/>).</summary>
    internal uint CropSeed => cropSeed;

    internal override IReadOnlyList<string> ScalarNames { get; } = new[] { "loss" };

    internal override void Record(Frame frame)
    {
        var size = Frame.Push(w, h);
        bool train = Training && TrainingStepsPerFrame > 0;
        bool wholeFrame = TrainingCrop == 0;
        var x = net.Infer.Inputs["x"];
        uint seed = (uint)frame.Index * 2u;
        frame.BeginStage(FrameStage.Scene);
        scene.Record(frame, frame.Time, w, h, Samples, seed, colour, albedo, normal);
        scene.Record(frame, frame.Time, w, h, ReferenceSamples, seed + 1, reference);
        frame.Barrier();
        frame.Dispatch2D("denoise_input", w, h, size, Array.Empty<uint>(), colour, albedo, normal, x);
        if (train && wholeFrame)
        {
            frame.Dispatch2D("denoise_input", w, h, size, Array.Empty<uint>(), colour, albedo, normal, net.Train.Inputs["x"]);
            frame.Dispatch1D("log_transfer", 3 * w * h, Frame.Push(3 * w * h), Array.Empty<uint>(), reference, net.Train.Inputs["target"]);
        }
        if (Feedback)
        {
            // y still holds the previous frame's output (this frame's inference runs later); the first frame has none,
            // so it takes the noisy colour (log space, channels 0..2 of x) in its place.
            long plane = (long)w * h, at = (long)DenoiseUNet.InputChannels * plane;
            var source = fedBack ? net.Infer.Outputs["y"] : x;
            frame.CopyRange(source, 0, x, at, 3 * plane);
            if (train && wholeFrame) frame.CopyRange(source, 0, net.Train.Inputs["x"], at, 3 * plane);
            fedBack = true;
        }
        frame.EndStage();
        if (train)
        {
            frame.BeginStage(FrameStage.Training);
            // Crops of the inference input (fed-back channels included, so they move with the crop) and of the reference,
            // at the same positions: fresh ones before every step.
            Action<int>? crop = wholeFrame ? null : step =>
            {
                uint key = RandomCrops.Key(frame.Index, step);
                RandomCrops.Record(frame, x, w, h, net.Train.Inputs["x"], TrainingCrop, TrainingBatch, cropSeed, key, logTransfer: false);
                RandomCrops.Record(frame, reference, w, h, net.Train.Inputs["target"], TrainingCrop, TrainingBatch, cropSeed, key, logTransfer: true);
            };
            net.RecordTraining(frame, TrainingStepsPerFrame, lossSlot: 0, crop);
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
