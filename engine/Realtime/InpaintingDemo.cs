using Kiln.Models;
using Kiln.Training;

namespace Kiln.Realtime;

/// <summary>
/// Live inpainting: the scene (the procedural one, or an <see cref="ImageScene"/> of still images) is drawn every frame, moving masks cut holes in it, the
/// <see cref="InpaintUNet"/> fills them, and (while <see cref="RealtimeDemo.Training"/> is on) trains online on the
/// same frame against the clean image. The displayed frame is three panels side by side: the input with its
/// holes (tinted), the inpainted result (known pixels kept, holes from the network), the mask.
/// </summary>
public sealed class InpaintingDemo : RealtimeDemo
{
    /// <summary>UNet widths used when none are given: small enough for a CPU device at 128x128.</summary>
    public static readonly int[] DefaultChannels = { 8, 16, 32 };
    readonly int w, h;
    readonly Tensor image, mask, blended, painted;
    readonly PaintedMask paint;
    readonly OnlineNetwork net;
    readonly ImageScene? images;

    /// <summary>
    /// A demo on <paramref name="width"/> x <paramref name="height"/> frames (each a multiple of 2^(levels - 1)),
    /// the UNet of <paramref name="channels"/> (default <see cref="DefaultChannels"/>) trained with Adam. The scene is
    /// <paramref name="images"/> when given (the caller keeps and disposes it), else the procedural scene.
    /// <paramref name="precision"/> Fp16 stores the network's activations as f16 (<see cref="CompileOptions.Precision"/>);
    /// <paramref name="layout"/> pins their layout (null: each compile chooses, <see cref="CompileOptions.ActivationLayout"/>).
    /// </summary>
    public InpaintingDemo(GpuContext context, int width, int height, int[]? channels = null, float learningRate = 2e-3f, int seed = 1,
        ImageScene? images = null, Precision precision = Precision.Fp32, TensorLayout? layout = null)
        : base(context, 3 * width, height)
    {
        this.images = images;
        channels ??= DefaultChannels;
        if (channels.Length < 1 || channels.Any(c => c < 1)) throw new ArgumentException("UNet channels must be positive, at least one level.", nameof(channels));
        int multiple = 1 << (channels.Length - 1);
        if (width % multiple != 0 || height % multiple != 0)
            throw new ArgumentException($"Inpainting frames must be multiples of {multiple} pixels a side for a {channels.Length}-level UNet; got {width}x{height}.");
        (w, h) = (width, height);
        var x = new Shape(1, 4, h, w);
        image = new Tensor(context, new Shape(3, h, w), name: "inpaint scene image");
        mask = new Tensor(context, new Shape(h, w), name: "inpaint mask");
        blended = new Tensor(context, new Shape(3, h, w), name: "inpaint result");
        painted = new Tensor(context, new Shape(h, w), name: "inpaint painted mask");
        paint = new PaintedMask(w, h);
        try
        {
            net = OnlineNetwork.ForImages(context, InpaintUNet.Build(channels), InpaintUNet.BuildForTraining(channels), x, 3, learningRate, seed, precision: precision,
                layout: layout);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public override string Name => "inpaint";
    public override TensorLayout InferenceLayout => net.Infer.ActivationLayout;
    public override TensorLayout TrainingLayout => net.Train.ActivationLayout;

    /// <summary>File name of the weights the demo ships: made by demos/weights/make-weights.sh.</summary>
    public const string ShippedWeights = "demo-inpaint.f16.safetensors";

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


    internal override PaintedMask? Paintable => paint;

    internal override void Record(Frame frame)
    {
        var size = Frame.Push(w, h);
        bool train = Training && TrainingStepsPerFrame > 0;
        frame.BeginStage(FrameStage.Scene);
        if (images != null) images.RecordImage(frame, w, h, frame.Time, image);
        else ProceduralScene.RecordImage(frame, w, h, frame.Time, image);
        if (paint.UploadIfChanged(painted)) frame.Copy(painted, mask);
        else ProceduralScene.RecordMask(frame, w, h, frame.Time, 3, mask);
        frame.Barrier();
        frame.Dispatch2D("inpaint_input", w, h, size, Array.Empty<uint>(), image, mask, net.Infer.Inputs["x"]);
        if (train)
        {
            frame.Dispatch2D("inpaint_input", w, h, size, Array.Empty<uint>(), image, mask, net.Train.Inputs["x"]);
            frame.Copy(image, net.Train.Inputs["target"]);
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
        var xin = net.Infer.Inputs["x"];
        frame.Dispatch2D("inpaint_blend", w, h, size, Array.Empty<uint>(), xin, net.Infer.Outputs["y"], blended);
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, 0, 0), new uint[] { 4 }, xin, frame.Display);
        frame.Barrier();
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, w, 0), new uint[] { 0 }, blended, frame.Display);
        frame.Barrier();
        frame.Dispatch2D("panel", w, h, Frame.Push(w, h, Width, 2 * w, 0), new uint[] { 1 }, mask, frame.Display);
        frame.EndStage();
    }

    public override void Dispose()
    {
        net?.Dispose();
        image?.Dispose();
        mask?.Dispose();
        blended?.Dispose();
        painted?.Dispose();
    }
}
