namespace Kiln.Data;

/// <summary>
/// Inpainting examples from a source of clean RGB images (its target, [3, H, W], e.g. an
/// <see cref="ImageFolderDataset"/> or <see cref="ProceduralImages"/>): input [4, H, W] = the image with the holes
/// zeroed (image * (1 - mask), 3 channels) followed by the mask (1 = missing), as <see cref="Kiln.Models.InpaintUNet"/>
/// takes it; target the clean image. Each read draws a new mask from the Random: boxes with probability
/// <see cref="BoxProbability"/>, brush strokes otherwise.
/// </summary>
public sealed class InpaintingDataset : IDataset
{
    readonly IDataset source;
    readonly int height, width;

    /// <summary>Wraps <paramref name="source"/>, whose target must be [3, H, W] and whose input no larger than [4, H, W].</summary>
    public InpaintingDataset(IDataset source, double boxProbability = 0.3, int maxStrokes = 4, int maxBoxes = 2)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        var t = source.TargetShape;
        if (t.Rank != 3 || t[0] != 3) throw new ArgumentException($"The source's target {t} is not an RGB image [3, H, W].", nameof(source));
        (height, width) = (t[1], t[2]);
        if (source.InputShape.Elements > 4L * height * width) throw new ArgumentException($"The source's input {source.InputShape} is larger than [4, {height}, {width}].", nameof(source));
        if (!(boxProbability >= 0 && boxProbability <= 1)) throw new ArgumentOutOfRangeException(nameof(boxProbability), boxProbability, "A probability is in [0, 1].");
        if (maxStrokes < 1 || maxBoxes < 1) throw new ArgumentException("At least one stroke and one box.");
        BoxProbability = boxProbability;
        MaxStrokes = maxStrokes;
        MaxBoxes = maxBoxes;
        InputShape = new Shape(4, height, width);
    }

    /// <summary>Chance that an example's mask is boxes rather than brush strokes.</summary>
    public double BoxProbability { get; }

    /// <summary>Most strokes of a brush-stroke mask.</summary>
    public int MaxStrokes { get; }

    /// <summary>Most boxes of a box mask.</summary>
    public int MaxBoxes { get; }

    public int Count => source.Count;
    public Shape InputShape { get; }
    public Shape TargetShape => source.TargetShape;
    public int ClassCount => source.ClassCount;
    /// <summary>The mask follows the three image channels.</summary>
    public int? MaskChannel => 3;

    public int Label(int index) => source.Label(index);

    /// <summary>Reads the source (its own draws first), then draws the mask kind and the mask.</summary>
    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        int plane = height * width;
        source.Read(index, input[..(int)source.InputShape.Elements], target, random);
        var mask = input.Slice(3 * plane, plane);
        if (random.NextDouble() < BoxProbability) Corruptions.Boxes(mask, height, width, random, MaxBoxes);
        else Corruptions.BrushStrokes(mask, height, width, random, MaxStrokes);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) input[c * plane + i] = target[c * plane + i] * (1 - mask[i]);
    }
}
