namespace Kiln.Data;

/// <summary>
/// One split of Fashion-MNIST as [1, 28, 28] images with pixels / 255 in [0, 1], labelled with the 10 classes.
/// Made by <see cref="FashionMnist.Load"/>.
/// </summary>
public sealed class FashionMnistDataset : IDataset
{
    /// <summary>Side of the square images.</summary>
    public const int Side = 28;
    const int Pixels = Side * Side;
    readonly byte[] images, labels;

    internal FashionMnistDataset(byte[] images, byte[] labels, FashionMnistMode mode, double noiseSigma)
    {
        this.images = images;
        this.labels = labels;
        Count = labels.Length;
        Mode = mode;
        NoiseSigma = noiseSigma;
    }

    /// <summary>Autoencoder or denoising.</summary>
    public FashionMnistMode Mode { get; }

    /// <summary>Standard deviation of the Gaussian noise added to the input in <see cref="FashionMnistMode.Denoising"/>.</summary>
    public double NoiseSigma { get; }

    public int Count { get; }
    public Shape InputShape { get; } = new(1, Side, Side);
    public Shape TargetShape { get; } = new(1, Side, Side);
    public int ClassCount => FashionMnist.ClassCount;

    /// <summary>The names of the 10 classes, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>
    /// Writes the image into <paramref name="target"/> and, in denoising mode, the image plus noise drawn from
    /// <paramref name="random"/> (clipped to [0, 1]) into <paramref name="input"/>; otherwise the image again.
    /// </summary>
    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        var pixels = images.AsSpan(index * Pixels, Pixels);
        for (int i = 0; i < Pixels; i++) target[i] = pixels[i] / 255f;
        var x = input[..Pixels];
        target[..Pixels].CopyTo(x);
        if (Mode == FashionMnistMode.Denoising) Corruptions.AddGaussianNoise(x, NoiseSigma, random, clip: true);
    }

    public int Label(int index)
    {
        DatasetChecks.Index(this, index);
        return labels[index];
    }
}
