using System.Diagnostics;
using NUnit.Framework;

namespace Kiln.Tests;

/// <summary>
/// Runs a program the way the tests that start one need it: no input (its stdin closed), stdout and stderr read as it
/// writes them, a time limit after which it is killed with its children and the test fails with what it printed, and a
/// bound on the wait for its output to close (a process it started and left running, an MSBuild node say, would
/// otherwise hold the pipes open and the test forever).
/// </summary>
public static class ChildProcess
{
    /// <summary>The exit code and stdout followed by stderr of <paramref name="start"/> (its streams redirected here).</summary>
    public static (int Code, string Output) Run(ProcessStartInfo start, TimeSpan limit)
    {
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        string args = start.ArgumentList.Count > 0 ? string.Join(' ', start.ArgumentList) : start.Arguments;
        string what = $"{Path.GetFileName(start.FileName)} {args}".Trim();
        using var p = Process.Start(start) ?? throw new InvalidOperationException($"could not start {what}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Task.WaitAll(new Task[] { stdout, stderr }, TimeSpan.FromSeconds(10));
            Assert.Fail($"{what} did not finish within {limit.TotalSeconds:0} s; it printed:\n{Tail(stdout)}{Tail(stderr)}");
        }
        if (!Task.WaitAll(new Task[] { stdout, stderr }, TimeSpan.FromSeconds(30)))
            Assert.Fail($"{what} exited ({p.ExitCode}), but a process it started still holds its output open");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The last 4000 characters a stream gave, where it has been read to its end.</summary>
    static string Tail(Task<string> read) =>
        read.IsCompletedSuccessfully ? read.Result[Math.Max(0, read.Result.Length - 4000)..] : "(its output is still open)\n";
}
