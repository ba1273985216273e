namespace Kiln.Realtime;

/// <summary>
/// Something the <see cref="FrameLoop"/> runs every frame: it records its scene, training steps, network and
/// composite into the frame's command list, and the loop measures and presents the result. The demos are
/// <see cref="InpaintingDemo"/>, <see cref="DenoisingDemo"/> and <see cref="PlaygroundDemo"/>.
/// </summary>
public abstract class RealtimeDemo : IDisposable
{
    private protected RealtimeDemo(GpuContext context, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (width < 8 || height < 8 || width > 8192 || height > 8192)
            throw new ArgumentOutOfRangeException(nameof(width), $"A displayed frame of {width}x{height} is outside 8..8192 pixels a side.");
        Context = context;
        Width = width;
        Height = height;
    }

    public GpuContext Context { get; }
    /// <summary>The demo's name ("inpaint", "denoise", "playground").</summary>
    public abstract string Name { get; }
    /// <summary>Width of the composed frame in pixels.</summary>
    public int Width { get; }
    /// <summary>Height of the composed frame in pixels.</summary>
    public int Height { get; }
    /// <summary>Whether frames run training steps (changeable between frames).</summary>
    public bool Training { get; set; } = true;

    int steps = 1;
    /// <summary>Training steps per frame when <see cref="Training"/> is on (0..64).</summary>
    public int TrainingStepsPerFrame
    {
        get => steps;
        set => steps = value is >= 0 and <= 64 ? value : throw new ArgumentOutOfRangeException(nameof(TrainingStepsPerFrame), value, "Training steps per frame must be 0 to 64.");
    }

    /// <summary>How the compiled network keeps its activations for inference (<see cref="CompiledNetwork.ActivationLayout"/>;
    /// NCHW for a network without images).</summary>
    public virtual TensorLayout InferenceLayout => TensorLayout.Nchw;
    /// <summary>How the training step keeps its activations (each compile makes its own choice where it is left to it).</summary>
    public virtual TensorLayout TrainingLayout => TensorLayout.Nchw;

    /// <summary>Names of the scalars the demo writes into the frame's scalar slots (e.g. "loss"), in slot order.</summary>
    internal abstract IReadOnlyList<string> ScalarNames { get; }

    /// <summary>The mask the user paints (in the first panel's pixels), for demos that take one; null otherwise.</summary>
    internal virtual PaintedMask? Paintable => null;

    /// <summary>Records the frame's stages; the loop has opened the command list and reads back the display buffer after.</summary>
    internal abstract void Record(Frame frame);

    /// <summary>Adds metrics computed on the host from the finished frame's pixels (e.g. PSNR between panels).</summary>
    internal virtual void AddMetrics(ReadOnlySpan<byte> rgba, Dictionary<string, double> metrics) { }

    /// <summary>Frees the demo's networks and buffers.</summary>
    public abstract void Dispose();
}
