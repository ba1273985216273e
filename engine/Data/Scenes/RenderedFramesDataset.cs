namespace Kiln.Data.Scenes;

/// <summary>
/// Denoising examples rendered from random <see cref="Scene"/>s, no files needed: input [9, H, W] = a noisy
/// render of <see cref="NoisySamples"/> paths per pixel (3 channels), the albedo (3) and the normal (3), as
/// <see cref="Kiln.Models.DenoiseUNet"/> takes them; target [3, H, W] the converged render of
/// <see cref="ConvergedSamples"/> paths per pixel. Scene i comes from seed (seed, i); its converged render and
/// guide buffers are made on first use and cached; the noisy render is drawn afresh from each Read's Random, so
/// every epoch sees new noise. Colours are linear radiance (mostly in [0, 1.5]). Safe to read from several threads.
/// </summary>
public sealed class RenderedFramesDataset : IDataset
{
    readonly int seed, height, width;
    readonly Lazy<(Scene Scene, float[] Converged, float[] Albedo, float[] Normal)>[] frames;

    /// <summary><paramref name="count"/> scenes rendered at <paramref name="height"/> x <paramref name="width"/> (the DenoiseUNet wants multiples of 16).</summary>
    public RenderedFramesDataset(int count, int height, int width, int noisySamples = 4, int convergedSamples = 256, int seed = 0)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one scene.");
        if (noisySamples <= 0 || convergedSamples <= 0) throw new ArgumentException($"Sample counts {noisySamples} and {convergedSamples} must be positive.");
        InputShape = new Shape(9, height, width);
        TargetShape = new Shape(3, height, width);
        (this.height, this.width, this.seed) = (height, width, seed);
        NoisySamples = noisySamples;
        ConvergedSamples = convergedSamples;
        frames = new Lazy<(Scene, float[], float[], float[])>[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            frames[i] = new Lazy<(Scene, float[], float[], float[])>(() => Converge(index), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    /// <summary>Paths per pixel of the noisy input.</summary>
    public int NoisySamples { get; }

    /// <summary>Paths per pixel of the converged target.</summary>
    public int ConvergedSamples { get; }

    public int Count => frames.Length;
    public Shape InputShape { get; }
    public Shape TargetShape { get; }
    public int ClassCount => 0;
    public int Label(int index)
    {
        DatasetChecks.Index(this, index);
        return -1;
    }

    /// <summary>The scene of example <paramref name="index"/>.</summary>
    public Scene SceneAt(int index)
    {
        DatasetChecks.Index(this, index);
        return frames[index].Value.Scene;
    }

    /// <summary>Copies the cached converged render to the target and guides to the input, then renders the noisy colour from <paramref name="random"/>.</summary>
    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        var (scene, converged, albedo, normal) = frames[index].Value;
        int plane = height * width;
        converged.CopyTo(target);
        PathTracer.Render(scene, height, width, NoisySamples, random, input[..(3 * plane)]);
        albedo.CopyTo(input.Slice(3 * plane, 3 * plane));
        normal.CopyTo(input.Slice(6 * plane, 3 * plane));
    }

    (Scene, float[], float[], float[]) Converge(int index)
    {
        var scene = Scene.Random(Seeds.Mix(seed, index, 0x5CE2E));
        int plane = height * width;
        float[] converged = new float[3 * plane], albedo = new float[3 * plane], normal = new float[3 * plane];
        PathTracer.RenderParallel(scene, height, width, ConvergedSamples, Seeds.Mix(seed, index), converged);
        PathTracer.RenderGuides(scene, height, width, Math.Min(ConvergedSamples, 16), new Random(Seeds.Mix(seed, index, 0xA1BE)), albedo, normal);
        return (scene, converged, albedo, normal);
    }
}
