namespace Kiln.HostSample;

/// <summary>Entry point: <c>dotnet run --project demos/Kiln.HostSample -- --frames N --out DIR</c>.</summary>
public static class Program
{
    /// <summary>Exit codes: 0 done, 1 the validation layer reported something, 2 bad arguments.</summary>
    public static int Main(string[] args)
    {
        SampleOptions options;
        try { options = SampleOptions.Parse(args); }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
        var result = SampleHost.Run(options, Console.Out);
        if (result.ValidationMessages.Count > 0)
        {
            Console.Error.WriteLine($"{result.ValidationMessages.Count} validation message(s).");
            return 1;
        }
        return 0;
    }
}
