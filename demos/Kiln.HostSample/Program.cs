namespace Kiln.HostSample;

/// <summary>
/// Entry point: <c>dotnet run --project demos/Kiln.HostSample -- --frames N --out DIR</c> headless (PNGs), or
/// <c>-- --window</c> to present to a window (see <see cref="SampleOptions"/>).
/// </summary>
public static class Program
{
    /// <summary>Exit codes: 0 done, 1 the validation layer reported something, 2 bad arguments, 3 the sample could not run (no display, no device...).</summary>
    public static int Main(string[] args)
    {
        SampleOptions options;
        try { options = SampleOptions.Parse(args); }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
        SampleResult result;
        try { result = SampleHost.Run(options, Console.Out); }
        catch (InvalidOperationException e) when (e.Message.StartsWith("host sample:", StringComparison.Ordinal))
        {
            Console.Error.WriteLine(e.Message);
            return 3;
        }
        if (result.ValidationMessages.Count > 0)
        {
            Console.Error.WriteLine($"{result.ValidationMessages.Count} validation message(s).");
            return 1;
        }
        return 0;
    }
}
