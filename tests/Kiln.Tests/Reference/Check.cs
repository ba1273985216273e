namespace Kiln.Tests.Reference;

/// <summary>Argument checks shared by the references, so a wrong dimension fails loudly instead of reading garbage.</summary>
internal static class Check
{
    public static void Length(IReadOnlyCollection<double> data, int expected, string name)
    {
        if (data.Count != expected)
            throw new ArgumentException($"{name} has {data.Count} elements, expected {expected}", name);
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, "must be positive");
    }
}
