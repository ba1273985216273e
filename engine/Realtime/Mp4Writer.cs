using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace Kiln.Realtime;

/// <summary>
/// Writes frames as an H.264 MP4 by piping raw RGBA8 frames to an ffmpeg process (libx264, yuv420p; an odd width
/// or height is padded by one black pixel). Only where ffmpeg is installed: <see cref="TryStart"/> returns null with
/// the reason when it cannot be started. <see cref="Finish"/> closes the pipe and waits for ffmpeg; a failure there
/// is a <see cref="KilnException"/> with ffmpeg's last error lines.
/// </summary>
public sealed class Mp4Writer : IDisposable
{
    /// <summary>How long <see cref="Finish"/> waits for ffmpeg to finish encoding.</summary>
    public static readonly TimeSpan FinishTimeout = TimeSpan.FromSeconds(120);
    readonly Process process;
    readonly Stream input;
    readonly Queue<string> errors = new();
    bool finished;

    Mp4Writer(Process process, string path, int width, int height)
    {
        this.process = process;
        input = process.StandardInput.BaseStream;
        Path = path;
        Width = width;
        Height = height;
    }

    /// <summary>The MP4 file being written.</summary>
    public string Path { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>Frames written so far.</summary>
    public int Frames { get; private set; }

    /// <summary>
    /// Starts ffmpeg (<paramref name="ffmpeg"/>: a name on PATH or a path) writing <paramref name="path"/> at
    /// <paramref name="fps"/> frames per second; null, with <paramref name="why"/> saying why, when it cannot be started.
    /// </summary>
    public static Mp4Writer? TryStart(string path, int width, int height, double fps, out string? why, string ffmpeg = "ffmpeg")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (width < 1 || height < 1 || width > 8192 || height > 8192) throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height} is outside 1..8192 pixels a side.");
        if (!(fps > 0 && fps <= 1000)) throw new ArgumentOutOfRangeException(nameof(fps), fps, "Frames per second must be in (0, 1000].");
        var info = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba",
                     "-s", $"{width}x{height}", "-r", fps.ToString("R", CultureInfo.InvariantCulture), "-i", "-",
                     "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path,
                 })
            info.ArgumentList.Add(a);
        Process? process;
        try { process = Process.Start(info); }
        catch (Win32Exception e)
        {
            why = $"ffmpeg ('{ffmpeg}') could not be started ({e.Message}); install ffmpeg for MP4 output";
            return null;
        }
        if (process == null) { why = $"ffmpeg ('{ffmpeg}') did not start"; return null; }
        var writer = new Mp4Writer(process, path, width, height);
        process.ErrorDataReceived += (_, e) => writer.Note(e.Data);
        process.OutputDataReceived += (_, e) => writer.Note(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        why = null;
        return writer;
    }

    void Note(string? line)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        lock (errors)
        {
            errors.Enqueue(line);
            while (errors.Count > 20) errors.Dequeue();
        }
    }

    string ErrorTail() { lock (errors) return errors.Count == 0 ? "(no message)" : string.Join("\n", errors); }

    /// <summary>Appends one frame of <see cref="Width"/> x <see cref="Height"/> RGBA8 pixels (row-major, top row first).</summary>
    public void Write(ReadOnlySpan<byte> rgba)
    {
        if (finished) throw new InvalidOperationException($"{Path}: the MP4 is already finished.");
        if (rgba.Length != Width * Height * 4) throw new ArgumentException($"{rgba.Length} bytes are not {Width}x{Height} RGBA8 pixels.", nameof(rgba));
        try { input.Write(rgba); }
        catch (IOException e)
        {
            throw new KilnException($"{Path}: ffmpeg stopped taking frames after {Frames} ({e.Message}):\n{ErrorTail()}");
        }
        Frames++;
    }

    /// <summary>Closes the pipe and waits for ffmpeg to write the file.</summary>
    public void Finish()
    {
        if (finished) return;
        finished = true;
        try { input.Dispose(); }
        catch (IOException) { } // ffmpeg already exited; its exit code says why
        if (!process.WaitForExit(FinishTimeout))
        {
            process.Kill();
            throw new KilnException($"{Path}: ffmpeg did not finish within {FinishTimeout.TotalSeconds:0} s.");
        }
        process.WaitForExit(); // drains the redirected output
        if (process.ExitCode != 0) throw new KilnException($"{Path}: ffmpeg failed (exit code {process.ExitCode}):\n{ErrorTail()}");
    }

    /// <summary>Stops ffmpeg if <see cref="Finish"/> was not called (the file is then incomplete).</summary>
    public void Dispose()
    {
        if (!finished)
        {
            finished = true;
            try { input.Dispose(); } catch (IOException) { }
            try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { }
        }
        process.Dispose();
    }
}
