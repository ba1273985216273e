namespace Kiln.Data;

/// <summary>What a Fashion-MNIST example's input and target are.</summary>
public enum FashionMnistMode
{
    /// <summary>Input and target are the clean image (an autoencoder).</summary>
    Autoencoder,
    /// <summary>Input is the clean image plus Gaussian noise, clipped to [0, 1]; target the clean image.</summary>
    Denoising,
}
