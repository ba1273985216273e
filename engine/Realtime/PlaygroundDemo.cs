using Kiln.Data;
using Kiln.Models;

namespace Kiln.Realtime;

/// <summary>
/// The TensorFlow Playground live: the <see cref="PlaygroundMlp"/> trains on a Playground data set (labels as -1 and
/// +1, MSE, full batch, Adam) a few steps every frame, and an inference copy of it evaluates every pixel's point of
/// [-6, 6]^2, redrawing the decision boundary each frame with the training points on top.
/// </summary>
public sealed class PlaygroundDemo : RealtimeDemo
{
    /// <summary>Half the side of the square the view shows, as in the Playground.</summary>
    public const float Extent = 6f;
    readonly Tensor points;
    readonly OnlineNetwork net;
    readonly int count;

    /// <summary>A <paramref name="width"/> x <paramref name="height"/> view of <paramref name="kind"/> with <paramref name="pointCount"/> points.</summary>
    public PlaygroundDemo(GpuContext context, int width, int height, PlaygroundKind kind = PlaygroundKind.Circle, int pointCount = 200, int[]? hidden = null, float learningRate = 0.01f, int seed = 1)
        : base(context, width, height)
    {
        hidden ??= new[] { 8, 8 };
        var data = PlaygroundData.Generate(kind, pointCount, noise: 0, seed);
        count = data.Count;
        var packed = data.SelectMany(p => new[] { (float)p.X, (float)p.Y, p.Label }).ToArray();
        points = Tensor.From(context, new Shape(packed.Length), packed, "playground points");
        try
        {
            // The inference network: the same layers without the loss (the same node names, so the same parameters).
            var layers = new List<Layer>();
            int inWidth = 2;
            foreach (var n in hidden) { layers.Add(new Linear(inWidth, n)); layers.Add(new Tanh()); inWidth = n; }
            layers.Add(new Linear(inWidth, 1));
            net = new OnlineNetwork(context, new Sequential(layers.ToArray()), PlaygroundMlp.Build(hidden),
                CompileOptions.For("x", new Shape(width * height, 2)),
                new CompileOptions
                {
                    InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(count, 2), ["target"] = new Shape(count, 1) },
                    Training = true,
                    Optimizer = new Adam(),
                    LearningRate = learningRate,
                    Seed = seed,
                });
            net.Train.SetInput("x", data.SelectMany(p => new[] { (float)p.X, (float)p.Y }).ToArray());
            net.Train.SetInput("target", data.Select(p => p.Label == 1 ? 1f : -1f).ToArray());
            var grid = new float[width * height * 2];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    grid[2 * (y * width + x)] = ((x + 0.5f) / width * 2 - 1) * Extent;
                    grid[2 * (y * width + x) + 1] = (1 - (y + 0.5f) / height * 2) * Extent;
                }
            net.Infer.SetInput("x", grid);
        }
        catch
        {
            Dispose();
            throw;
        }
        TrainingStepsPerFrame = 10;
    }

    public override string Name => "playground";

    /// <summary>The training and inference networks.</summary>
    internal OnlineNetwork Network => net;

    internal override IReadOnlyList<string> ScalarNames { get; } = new[] { "loss" };

    internal override void Record(Frame frame)
    {
        if (Training && TrainingStepsPerFrame > 0)
        {
            frame.BeginStage(FrameStage.Training);
            net.RecordTraining(frame, TrainingStepsPerFrame, lossSlot: 0);
            frame.EndStage();
        }
        frame.BeginStage(FrameStage.Network);
        net.Infer.Record(frame.List);
        frame.EndStage();
        frame.BeginStage(FrameStage.Composite);
        frame.Dispatch2D("playground", Width, Height, Frame.Push(Width, Height, count, Extent), Array.Empty<uint>(), net.Infer.Outputs["y"], points, frame.Display);
        frame.EndStage();
    }

    public override void Dispose()
    {
        net?.Dispose();
        points?.Dispose();
    }
}
