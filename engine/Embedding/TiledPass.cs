using Kiln.Vulkan;

namespace Kiln.Embedding;

/// <summary>
/// Runs an image-to-image network (input "x", output "y", e.g. the denoiser) over an image too large to run
/// whole, as overlapping tiles of one compiled tile size: each tile reaches <see cref="ReceptiveField.Radius"/>
/// (rounded up to the alignment) beyond the pixels it keeps, so the kept pixels equal the untiled network's
/// output on the image zero-padded to the alignment, as <see cref="PostProcessPass"/> runs it. Only one tile's
/// activations are in memory. All tiles are recorded into one command target, one after another.
/// </summary>
public sealed class TiledPass : IDisposable
{
    readonly int[] imageChannels;
    readonly CompiledNetwork compiled;
    readonly int halo;
    bool disposed;

    /// <summary>
    /// Compiles <paramref name="network"/> for square tiles of <paramref name="tileSize"/> pixels (a multiple of
    /// the receptive field's alignment, larger than twice its padded radius). <paramref name="imageChannels"/> and
    /// <paramref name="parameters"/> (null: initialised from <paramref name="seed"/>) are as in <see cref="PostProcessPass.Create"/>;
    /// <paramref name="parameters"/> may be a compiled network of the same model to copy from.
    /// </summary>
    public TiledPass(GpuContext context, Network network, int[] imageChannels, int tileSize, CompiledNetwork? parameters = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(imageChannels);
        if (imageChannels.Length == 0 || imageChannels.Any(c => c is < 1 or > 4))
            throw new ArgumentException($"Each input image gives 1 to 4 channels; got [{string.Join(", ", imageChannels)}].", nameof(imageChannels));
        Field = ReceptiveField.Of(network);
        int a = Field.Alignment;
        halo = (Field.Radius + a - 1) / a * a;
        if (tileSize % a != 0 || tileSize <= 2 * halo)
            throw new ArgumentOutOfRangeException(nameof(tileSize),
                $"Tiles of {tileSize} pixels: they must be a multiple of {a} and larger than {2 * halo} (twice the receptive field's {Field.Radius} pixels, rounded up to {a}).");
        TileSize = tileSize;
        this.imageChannels = imageChannels.ToArray();
        compiled = network.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, imageChannels.Sum(), tileSize, tileSize) },
            Seed = seed,
        });
        try
        {
            if (parameters != null)
                foreach (var (name, t) in compiled.Parameters)
                    t.Upload((parameters.Parameters.TryGetValue(name, out var p) ? p : throw new ArgumentException($"The parameters' network has no '{name}'.", nameof(parameters))).ToArray());
        }
        catch { compiled.Dispose(); throw; }
    }

    /// <summary>The network's receptive field.</summary>
    public ReceptiveField Field { get; }
    /// <summary>Side of the square tiles the network runs on.</summary>
    public int TileSize { get; }
    /// <summary>The network compiled at the tile size.</summary>
    public CompiledNetwork Network => compiled;

    /// <summary>The tiles for an image: where each runs (tile origin, size) and the part it keeps (core origin, size), in image pixels.</summary>
    public IReadOnlyList<(int X, int Y, int W, int H, int CoreX, int CoreY, int CoreW, int CoreH)> Tiles(int width, int height)
    {
        int a = Field.Alignment;
        int pw = (width + a - 1) / a * a, ph = (height + a - 1) / a * a;
        var xs = Axis(width, pw);
        var ys = Axis(height, ph);
        return ys.SelectMany(y => xs.Select(x => (x.Origin, y.Origin, x.Size, y.Size, x.Core, y.Core, x.CoreSize, y.CoreSize))).ToList();
    }

    List<(int Origin, int Size, int Core, int CoreSize)> Axis(int length, int padded)
    {
        var list = new List<(int, int, int, int)>();
        if (padded < TileSize)
            throw new ArgumentException($"The image is {length} pixels ({padded} aligned) in one direction, less than a {TileSize}-pixel tile: run it whole with a PostProcessPass, or use smaller tiles.");
        int step = TileSize - 2 * halo;
        for (int core = 0; core < length; core += step)
        {
            int origin = Math.Clamp(core - halo, 0, padded - TileSize);
            list.Add((origin, TileSize, core, Math.Min(step, length - core)));
        }
        return list;
    }

    /// <summary>
    /// Records every tile: the inputs' tile region into the network (zeros beyond the image), the network, the
    /// tile's kept part into <paramref name="output"/>. All images must have one size, at least a tile (after
    /// rounding up to the alignment) in both directions.
    /// </summary>
    public void Record(CommandTarget target, ReadOnlySpan<HostImage> inputs, HostImage output)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(target);
        if (inputs.Length != imageChannels.Length) throw new ArgumentException($"The pass takes {imageChannels.Length} input image(s), {inputs.Length} given.", nameof(inputs));
        output.Check("output image");
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i].Check($"input image {i}");
            if (inputs[i].Width != output.Width || inputs[i].Height != output.Height)
                throw new ArgumentException($"Input image {i} is {inputs[i].Width}x{inputs[i].Height}, the output {output.Width}x{output.Height}.");
        }
        var x = compiled.Inputs["x"];
        var y = compiled.Outputs["y"];
        var r = target.Recorder;
        foreach (var t in Tiles(output.Width, output.Height))
        {
            int w = Math.Min(t.W, output.Width - t.X), h = Math.Min(t.H, output.Height - t.Y);
            if (w < t.W || h < t.H)
            {
                // Part of the tile lies beyond the image: zeros there, as the untiled network's padding.
                r.Barrier(BarrierKind.ComputeToTransfer);
                r.Fill(x.Storage, 0);
                r.Barrier(BarrierKind.TransferToCompute);
            }
            int c = 0;
            for (int i = 0; i < inputs.Length; i++)
            {
                ImageInterop.ImageToTensor(target, inputs[i], t.X, t.Y, x, 0, 0, w, h, c, imageChannels[i]);
                c += imageChannels[i];
            }
            compiled.Record(target);
            ImageInterop.TensorToImage(target, y, t.CoreX - t.X, t.CoreY - t.Y, output, t.CoreX, t.CoreY, t.CoreW, t.CoreH, 0, Math.Min(4, (int)y.Shape[1]));
        }
    }

    /// <summary>Releases the network; memory still used by pending work goes when it completes.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        compiled.Dispose();
    }
}
