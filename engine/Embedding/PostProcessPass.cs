using Kiln.Models;

namespace Kiln.Embedding;

/// <summary>
/// A network run as a post-process pass inside a host's frame: host images in, a host image out, all on the GPU.
/// Create one with <see cref="Denoise"/>, <see cref="Inpaint"/> or <see cref="Create"/> for an image size, then
/// call <see cref="Record"/> each frame with the host's <see cref="HostCommandBuffer"/>. The network runs at the
/// image size rounded up to the model's multiple (the extra right and bottom pixels are zero); the output image
/// gets the top-left image-sized part.
/// <para>
/// With <see cref="LevelsPerFrame"/> set, one run is spread over several frames: the first frame of a run reads
/// the input images, each frame records at most that many dependency levels, and the frame that finishes writes
/// the output image; <see cref="Record"/> returns true exactly then. Other frames leave the output image as it was.
/// </para>
/// <para>
/// Not thread-safe: record a pass from one thread at a time (different passes on one context may record on
/// different threads into different command buffers). Images stay in VK_IMAGE_LAYOUT_GENERAL (see <see cref="HostImage"/>).
/// </para>
/// </summary>
public sealed class PostProcessPass : IDisposable
{
    readonly GpuContext context;
    readonly Network network;
    readonly int[] imageChannels;
    readonly int multiple;
    readonly int seed;
    CompiledNetwork compiled;
    int nextLevel;
    int levelsPerFrame;
    double budgetMs;
    double[]? levelMs;
    bool disposed;

    PostProcessPass(GpuContext context, Network network, int[] imageChannels, int multiple, int width, int height, string? checkpoint, int seed)
    {
        this.context = context;
        this.network = network;
        this.imageChannels = imageChannels;
        this.multiple = multiple;
        this.seed = seed;
        CheckSize(width, height);
        Width = width;
        Height = height;
        compiled = Compile(width, height);
        try { if (checkpoint != null) compiled.LoadParameters(checkpoint); }
        catch { compiled.Dispose(); throw; }
        levelsPerFrame = compiled.LevelCount;
    }

    /// <summary>
    /// The denoiser (<see cref="DenoiseUNet"/>): three input images, color, albedo and normal (rgb of each), and
    /// the denoised color out. Parameters from a safetensors <paramref name="checkpoint"/> (as saved by
    /// <see cref="CompiledNetwork.SaveParameters"/>), or initialised from <paramref name="seed"/>.
    /// </summary>
    public static PostProcessPass Denoise(GpuContext context, int width, int height, string? checkpoint = null, int seed = 0) =>
        new(context, DenoiseUNet.Build(), new[] { 3, 3, 3 }, 16, width, height, checkpoint, seed);

    /// <summary>
    /// The inpainting network (<see cref="InpaintUNet"/> with <paramref name="channels"/>, default 32, 64, 128, 256):
    /// two input images, the color (rgb) and the mask (its red channel, 1 = known), and the filled-in color out.
    /// </summary>
    public static PostProcessPass Inpaint(GpuContext context, int width, int height, string? checkpoint = null, int seed = 0, params int[] channels)
    {
        int levels = channels.Length == 0 ? 4 : channels.Length;
        return new(context, InpaintUNet.Build(channels), new[] { 3, 1 }, 1 << (levels - 1), width, height, checkpoint, seed);
    }

    /// <summary>
    /// Any network with one NCHW input "x" and one output "y" (its first channels go to the output image):
    /// <paramref name="imageChannels"/> says how many channels each input image gives (1 to 4, summing to x's
    /// channel count); <paramref name="multiple"/> is what the network's height and width must be divisible by.
    /// </summary>
    public static PostProcessPass Create(GpuContext context, Network network, int[] imageChannels, int multiple, int width, int height,
        string? checkpoint = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(imageChannels);
        if (imageChannels.Length == 0 || imageChannels.Any(c => c is < 1 or > 4))
            throw new ArgumentException($"Each input image gives 1 to 4 channels; got [{string.Join(", ", imageChannels)}].", nameof(imageChannels));
        if (multiple < 1) throw new ArgumentOutOfRangeException(nameof(multiple), $"The size multiple must be at least 1, got {multiple}.");
        return new(context, network, imageChannels.ToArray(), multiple, width, height, checkpoint, seed);
    }

    /// <summary>Image width and height the pass was made (or last resized) for.</summary>
    public int Width { get; private set; }
    /// <inheritdoc cref="Width"/>
    public int Height { get; private set; }
    /// <summary>How many input images <see cref="Record"/> takes.</summary>
    public int InputImages => imageChannels.Length;
    /// <summary>The compiled network (its parameters, plan, level count); replaced by <see cref="Resize"/>.</summary>
    public CompiledNetwork Network => compiled;
    /// <summary>True while a run spread over frames has started and not finished.</summary>
    public bool RunInProgress => nextLevel > 0;

    /// <summary>Dependency levels recorded per frame (default: all, one run per frame); 1 to <see cref="CompiledNetwork.LevelCount"/>.</summary>
    public int LevelsPerFrame
    {
        get => levelsPerFrame;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), $"LevelsPerFrame must be at least 1, got {value}.");
            levelsPerFrame = Math.Min(value, compiled.LevelCount);
        }
    }

    /// <summary>
    /// Records this frame's part of the pass into the host's command buffer: with all levels per frame, the
    /// input images to the network, the network, its output to <paramref name="output"/>. Returns true when this
    /// frame's commands write a finished result to <paramref name="output"/> (always, unless
    /// <see cref="LevelsPerFrame"/> spreads a run over frames). The images must be <see cref="Width"/> x <see cref="Height"/>.
    /// </summary>
    public bool Record(HostCommandBuffer frame, ReadOnlySpan<HostImage> inputs, HostImage output)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Context != context) throw new ArgumentException("The host command buffer was wrapped by another GpuContext than the pass's.");
        if (inputs.Length != imageChannels.Length)
            throw new ArgumentException($"The pass takes {imageChannels.Length} input image(s), {inputs.Length} given.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++) CheckImage(inputs[i], $"input image {i}");
        CheckImage(output, "output image");

        context.Debug?.BeginLabel(frame.Recorder.Cmd, $"post-process pass {Width}x{Height}, levels {nextLevel}..");
        try { return RecordLabelled(frame, inputs, output); }
        finally { context.Debug?.EndLabel(frame.Recorder.Cmd); }
    }

    bool RecordLabelled(HostCommandBuffer frame, ReadOnlySpan<HostImage> inputs, HostImage output)
    {
        var x = compiled.Inputs["x"];
        if (nextLevel == 0)
        {
            int c = 0;
            for (int i = 0; i < inputs.Length; i++)
            {
                ImageInterop.ImageToTensor(frame, inputs[i], 0, 0, x, 0, 0, Width, Height, c, imageChannels[i]);
                c += imageChannels[i];
            }
        }
        int count = Math.Min(levelsPerFrame, compiled.LevelCount - nextLevel);
        if (levelMs != null)
        {
            // As many levels as fit the budget by their measured times, at least one.
            double spent = levelMs[nextLevel];
            count = 1;
            while (nextLevel + count < compiled.LevelCount && spent + levelMs[nextLevel + count] <= budgetMs) spent += levelMs[nextLevel + count++];
        }
        compiled.Record(frame, nextLevel, count);
        nextLevel += count;
        if (nextLevel < compiled.LevelCount) return false;
        nextLevel = 0;
        var y = compiled.Outputs["y"];
        ImageInterop.TensorToImage(frame, y, 0, 0, output, 0, 0, Width, Height, 0, Math.Min(4, (int)y.Shape[1]));
        return true;
    }

    /// <summary>
    /// Recompiles for a new image size (the swapchain was resized), keeping the parameters. The old network's
    /// memory is released once the host frames that used it have completed (<see cref="HostCommandBuffer.Completed"/>);
    /// a run spread over frames is abandoned.
    /// </summary>
    public void Resize(int width, int height)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckSize(width, height);
        if (width == Width && height == Height) return;
        var next = Compile(width, height);
        try
        {
            foreach (var (name, t) in compiled.Parameters) next.Parameters[name].Upload(t.ToArray());
        }
        catch { next.Dispose(); throw; }
        compiled.Dispose();
        compiled = next;
        Width = width;
        Height = height;
        nextLevel = 0;
        levelsPerFrame = Math.Min(levelsPerFrame, compiled.LevelCount);
        levelMs = null;
    }

    /// <summary>
    /// Measures each dependency level's GPU time (milliseconds, from timestamps around its dispatches) by running
    /// the network once on Kiln's own submission, and waits for it. Needs <see cref="ContextOptions.Profiling"/>
    /// and a queue with timestamps; call it outside a run spread over frames (it overwrites the activations).
    /// </summary>
    public IReadOnlyList<double> MeasureLevelTimes()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!context.Profiling) throw new InvalidOperationException("Measuring level times needs a context made with ContextOptions.Profiling = true.");
        if (RunInProgress) throw new InvalidOperationException("A run spread over frames is in progress; measure between runs.");
        using var list = context.CreateCommandList("post-process pass level timing");
        var firstDispatch = new int[compiled.LevelCount + 1];
        for (int level = 0; level < compiled.LevelCount; level++)
        {
            firstDispatch[level] = list.DispatchCount;
            compiled.Record(list, level, 1);
        }
        int dispatches = firstDispatch[compiled.LevelCount] = list.DispatchCount;
        list.Run();
        var times = list.Timings();
        if (times.Count != dispatches)
            throw new KilnException($"The device gave {times.Count} timestamps for {dispatches} dispatches (no timestamp support on this queue?).");
        return Enumerable.Range(0, compiled.LevelCount)
            .Select(l => Enumerable.Range(firstDispatch[l], firstDispatch[l + 1] - firstDispatch[l]).Sum(i => times[i].Milliseconds)).ToArray();
    }

    /// <summary>
    /// A per-frame budget in estimated GPU milliseconds: each frame records the levels that fit by
    /// <paramref name="levelMilliseconds"/> (from <see cref="MeasureLevelTimes"/>), at least one. Replaces
    /// <see cref="LevelsPerFrame"/>; <see cref="ClearFrameBudget"/> or <see cref="Resize"/> (the times change) ends it.
    /// The estimate leaves out barriers and the input and output conversions.
    /// </summary>
    public void SetFrameBudget(double milliseconds, IReadOnlyList<double> levelMilliseconds)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(levelMilliseconds);
        if (!(milliseconds > 0) || double.IsInfinity(milliseconds)) throw new ArgumentOutOfRangeException(nameof(milliseconds), $"The budget must be positive and finite, got {milliseconds}.");
        if (levelMilliseconds.Count != compiled.LevelCount)
            throw new ArgumentException($"{levelMilliseconds.Count} level times for a network of {compiled.LevelCount} levels.", nameof(levelMilliseconds));
        if (levelMilliseconds.Any(t => !(t >= 0) || double.IsInfinity(t))) throw new ArgumentException("Level times must be finite and non-negative.", nameof(levelMilliseconds));
        budgetMs = milliseconds;
        levelMs = levelMilliseconds.ToArray();
    }

    /// <summary>Ends the budget of <see cref="SetFrameBudget"/>; <see cref="LevelsPerFrame"/> applies again.</summary>
    public void ClearFrameBudget() => levelMs = null;

    CompiledNetwork Compile(int width, int height)
    {
        int channels = imageChannels.Sum();
        int h = (height + multiple - 1) / multiple * multiple, w = (width + multiple - 1) / multiple * multiple;
        var shape = new Shape(1, channels, h, w);
        var net = network.Compile(context, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = shape }, Seed = seed });
        try
        {
            if (!net.Outputs.ContainsKey("y")) throw new ArgumentException($"The network has no output 'y' (it has: {string.Join(", ", net.Outputs.Keys)}).");
            var y = net.Outputs["y"].Shape;
            if (y.Rank != 4 || y[2] != h || y[3] != w)
                throw new ArgumentException($"The network's output 'y' is {y}; a post-process pass needs [1, C, {h}, {w}] like its input.");
            // The padding beyond the image is never written by the input conversion: keep it zero.
            if (h != height || w != width) net.Inputs["x"].Upload(new float[shape.Elements]);
            return net;
        }
        catch { net.Dispose(); throw; }
    }

    void CheckSize(int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"The image size must be positive, got {width}x{height}.");
    }

    void CheckImage(HostImage image, string what)
    {
        image.Check(what);
        if (image.Width != Width || image.Height != Height)
            throw new ArgumentException($"{what} is {image.Width}x{image.Height}; the pass is {Width}x{Height} (call Resize when the swapchain changes).");
    }

    /// <summary>Releases the network; memory still used by pending host frames goes when they complete.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        compiled.Dispose();
    }
}
