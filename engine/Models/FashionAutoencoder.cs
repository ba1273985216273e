namespace Kiln.Models;

/// <summary>
/// The fashion-ae preset of MODELS.md for 28x28 grey images: two stride-2 convs, a linear bottleneck of
/// <c>latent</c> values, and the mirror image through transposed convolutions to a sigmoid.
/// </summary>
public static class FashionAutoencoder
{
    public static Network Build(int latent = 32)
    {
        var net = new Sequential(
            new Conv2d(1, 16, 3, stride: 2, padding: 1), new ReLU(),
            new Conv2d(16, 32, 3, stride: 2, padding: 1), new ReLU(),
            new Flatten(),
            new Linear(32 * 7 * 7, latent),
            new Linear(latent, 32 * 7 * 7), new ReLU(),
            new Reshape(32, 7, 7),
            new ConvTranspose2d(32, 16, 3, stride: 2, padding: 1, outputPadding: 1), new ReLU(),
            new ConvTranspose2d(16, 1, 3, stride: 2, padding: 1, outputPadding: 1), new Sigmoid());
        return net.WithLoss(new MseLoss());
    }
}
