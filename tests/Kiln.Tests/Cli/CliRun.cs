namespace Kiln.Tests.Cli;

/// <summary>Runs the `kiln` command line in process and captures what it printed.</summary>
public static class CliRun
{
    public sealed record Outcome(int Code, string Stdout, string Stderr);

    public static Outcome Run(params string[] args)
    {
        var (previousOut, previousErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = Kiln.Cli.CliApp.Run(args);
            return new Outcome(code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousErr);
        }
    }

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
