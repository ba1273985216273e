namespace Kiln;

/// <summary>How <see cref="Network.Compile"/> builds a network.</summary>
public sealed record CompileOptions
{
    /// <summary>Shape of each named input.</summary>
    public IReadOnlyDictionary<string, Shape> InputShapes { get; init; } = new Dictionary<string, Shape>();
    /// <summary>Also build the backward pass from the loss and an SGD update of every parameter.</summary>
    public bool Training { get; init; }
    /// <summary>How parameters are updated from their gradients when training.</summary>
    public Optimizer Optimizer { get; init; } = Optimizer.Sgd;
    /// <summary>Adam's decay rates and epsilon (PyTorch's defaults).</summary>
    public float AdamBeta1 { get; init; } = 0.9f;
    public float AdamBeta2 { get; init; } = 0.999f;
    public float AdamEpsilon { get; init; } = 1e-8f;
    /// <summary>Learning rate; it lives in the step-state buffer, changeable without re-recording.</summary>
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>Seed of parameter initialisation (and of random layers): the same seed gives the same run.</summary>
    public int Seed { get; init; }
    /// <summary>Also keep the gradient of the loss with respect to each input (CompiledNetwork.InputGradients): for checks and saliency.</summary>
    public bool InputGradients { get; init; }
    /// <summary>
    /// Input buffer sets, 1 or 2. With 2, every input has two tensors (<see cref="CompiledNetwork.InputsOf"/>) and a
    /// step can run on either, so the next batch uploads (<see cref="Tensor.UploadAsync"/>) while the current step runs.
    /// </summary>
    public int InputBuffers { get; init; } = 1;
    /// <summary>Fold activations into the conv or linear producing their input.</summary>
    public bool Fuse { get; init; } = true;

    public static CompileOptions For(string input, Shape shape, bool training = false) =>
        new() { InputShapes = new Dictionary<string, Shape> { [input] = shape }, Training = training };
}
