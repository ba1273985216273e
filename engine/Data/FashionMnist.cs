using Kiln.IO;

namespace Kiln.Data;

/// <summary>
/// Loads Fashion-MNIST from its four IDX files (gzipped or not): train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte. Every file is checked (IDX magic, [count, 28, 28] images,
/// [count] labels, as many labels as images, labels below 10); anything wrong is a <see cref="KilnException"/>
/// naming the file.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>
    /// The training (60000) and test (10000) splits from <paramref name="folder"/> (null: <see cref="DefaultFolder"/>),
    /// as an autoencoder's (input = target = image) or a denoiser's (input = image + Gaussian noise of standard
    /// deviation <paramref name="noiseSigma"/>, pixels in [0, 1]) examples, by <paramref name="mode"/>.
    /// </summary>
    public static (FashionMnistDataset Train, FashionMnistDataset Test) Load(string? folder = null, FashionMnistMode mode = FashionMnistMode.Autoencoder, double noiseSigma = 0.3)
    {
        if (!(noiseSigma >= 0 && double.IsFinite(noiseSigma))) throw new ArgumentOutOfRangeException(nameof(noiseSigma), noiseSigma, "Noise sigma must be finite and >= 0.");
        folder ??= DefaultFolder;
        if (!Directory.Exists(folder)) throw new KilnException($"{folder}: Fashion-MNIST folder does not exist (Debian: apt install dataset-fashion-mnist).");
        return (LoadSplit(folder, "train", mode, noiseSigma), LoadSplit(folder, "t10k", mode, noiseSigma));
    }

    static FashionMnistDataset LoadSplit(string folder, string prefix, FashionMnistMode mode, double sigma)
    {
        string imagesPath = Find(folder, $"{prefix}-images-idx3-ubyte"), labelsPath = Find(folder, $"{prefix}-labels-idx1-ubyte");
        var (imageShape, images) = IdxFile.Read(imagesPath);
        if (imageShape.Length != 3 || imageShape[1] != FashionMnistDataset.Side || imageShape[2] != FashionMnistDataset.Side)
            throw new KilnException($"{imagesPath}: images of shape [{string.Join(",", imageShape)}], expected [count, 28, 28].");
        var (labelShape, labels) = IdxFile.Read(labelsPath);
        if (labelShape.Length != 1) throw new KilnException($"{labelsPath}: labels of shape [{string.Join(",", labelShape)}], expected [count].");
        if (labelShape[0] != imageShape[0])
            throw new KilnException($"{labelsPath}: {labelShape[0]} labels but {Path.GetFileName(imagesPath)} has {imageShape[0]} images.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= ClassCount) throw new KilnException($"{labelsPath}: label {labels[i]} of example {i} is not below {ClassCount}.");
        return new FashionMnistDataset(images, labels, mode, sigma);
    }

    static string Find(string folder, string name)
    {
        var gz = Path.Combine(folder, name + ".gz");
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(folder, name);
        if (File.Exists(raw)) return raw;
        throw new KilnException($"{gz}: missing (nor is there an uncompressed {name}).");
    }
}
