namespace Kiln;

/// <summary>How a parameter starts: PyTorch's default for its layer type.</summary>
public enum ParameterInit
{
    /// <summary>U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's kaiming_uniform(a=sqrt(5)) for weights, and its bias rule.</summary>
    UniformFanIn,
    Zeros,
    Ones,
}

/// <summary>A learnable tensor a layer declares: its name within the layer, shape, and initialisation.</summary>
/// <param name="Name">Name within the layer (PyTorch's: weight, bias).</param>
/// <param name="Shape">Shape of the tensor.</param>
/// <param name="Init">Initial distribution.</param>
/// <param name="FanIn">Fan-in used by <see cref="ParameterInit.UniformFanIn"/> (PyTorch's, from the weight's shape).</param>
/// <param name="Trainable">False for state a layer keeps but does not learn (BatchNorm's running statistics):
/// it gets no gradient and no optimizer update; the layer's forward pass may write it.</param>
public sealed record ParameterSpec(string Name, Shape Shape, ParameterInit Init, int FanIn = 1, bool Trainable = true);
