namespace Kiln;

/// <summary>Elementwise activations; the numbers are the codes shaders/include/kiln.glsl uses.</summary>
public enum Activation
{
    None = 0,
    ReLU = 1,
    LeakyReLU = 2,
    Sigmoid = 3,
    Tanh = 4,
}
