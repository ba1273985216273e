namespace Kiln;

/// <summary>A network that can't be compiled: a shape mismatch, a cycle, a missing input. The message names the layer.</summary>
public sealed class GraphException : KilnException
{
    public GraphException(string message) : base(message) { }
}
