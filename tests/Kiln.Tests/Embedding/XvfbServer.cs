using System.Diagnostics;

namespace Kiln.Tests.Embedding;

/// <summary>
/// A private virtual X server for one test: Xvfb on a free display number (it picks one and reports it through
/// -displayfd), 24-bit colour, no TCP; killed on dispose.
/// </summary>
sealed class XvfbServer : IDisposable
{
    readonly Process process;

    XvfbServer(Process process, string display)
    {
        this.process = process;
        Display = display;
    }

    /// <summary>The display name, e.g. ":3".</summary>
    public string Display { get; }

    /// <summary>Xvfb's path on PATH, or null when it is not installed.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "Xvfb")).FirstOrDefault(File.Exists);

    /// <summary>Starts <paramref name="xvfb"/> and waits (at most 20 s) until it accepts connections.</summary>
    public static XvfbServer Start(string xvfb)
    {
        var info = new ProcessStartInfo(xvfb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-displayfd", "1", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset" }) info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {xvfb}");
        var stderr = process.StandardError.ReadToEndAsync();
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(20)) || !int.TryParse(line.Result, out var number))
        {
            Stop(process);
            throw new InvalidOperationException($"Xvfb did not report a display within 20 s: {(stderr.Wait(1000) ? stderr.Result : "")}");
        }
        return new XvfbServer(process, ":" + number);
    }

    public void Dispose() => Stop(process);

    static void Stop(Process process)
    {
        if (!process.HasExited) process.Kill();
        process.WaitForExit(10_000);
        process.Dispose();
    }
}
