namespace Kiln;

/// <summary>Base of every exception Kiln throws for a failed GPU operation or bad input.</summary>
public class KilnException : Exception
{
    public KilnException(string message) : base(message) { }
    public KilnException(string message, Exception inner) : base(message, inner) { }
}
