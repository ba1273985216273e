namespace Kiln.IO;

/// <summary>A safetensors file that breaks the format: the message says what and where, on one line.</summary>
public sealed class SafetensorsException : KilnException
{
    public SafetensorsException(string message) : base(message) { }
}
