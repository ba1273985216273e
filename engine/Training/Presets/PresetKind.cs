namespace Kiln.Training.Presets;

/// <summary>The family a preset belongs to: decides what <c>kiln train</c> draws besides the loss curve.</summary>
public enum PresetKind
{
    /// <summary>2-D points classified by an MLP: a decision-boundary picture.</summary>
    Playground,
    /// <summary>Grey 28x28 images through an autoencoder: sample grids, and a latent scatter when the latent has 2 values.</summary>
    Autoencoder,
    /// <summary>RGB image-to-image UNets: sample grids.</summary>
    ImageToImage,
}
