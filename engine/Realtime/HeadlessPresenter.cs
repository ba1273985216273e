using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Kiln.Realtime;

/// <summary>
/// Presents frames without a display: every <c>every</c>-th frame as a PNG (frame_00000.png, ...) in a folder, and
/// the run's statistics as stats.json beside them. Works on servers and in CI.
/// </summary>
public sealed class HeadlessPresenter
{
    readonly List<string> written = new();

    /// <summary>Writes into <paramref name="directory"/> (created if missing), one frame in <paramref name="every"/>.</summary>
    public HeadlessPresenter(string directory, int every = 1)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new ArgumentException("An output folder is needed.", nameof(directory));
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "Save every frame (1) or one in N > 1.");
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        Every = every;
    }

    public string Directory { get; }
    public int Every { get; }
    /// <summary>The PNG files written so far.</summary>
    public IReadOnlyList<string> Written => written;

    /// <summary>Saves the frame if its index is a multiple of <see cref="Every"/>.</summary>
    public void Present(CompletedFrame frame)
    {
        if (frame.Record.Index % Every != 0) return;
        var path = Path.Combine(Directory, $"frame_{frame.Record.Index:D5}.png");
        SavePng(path, frame.Rgba, frame.Width, frame.Height);
        written.Add(path);
    }

    /// <summary>Writes RGBA8 pixels (row-major, top row first) as a PNG.</summary>
    public static void SavePng(string path, ReadOnlySpan<byte> rgba, int width, int height)
    {
        if (rgba.Length != width * height * 4) throw new ArgumentException($"{rgba.Length} bytes are not {width}x{height} RGBA8 pixels.", nameof(rgba));
        using var image = Image.LoadPixelData<Rgba32>(rgba, width, height);
        image.SaveAsPng(path);
    }

    /// <summary>Writes <paramref name="stats"/> as stats.json (with <paramref name="info"/>: demo, device, size); returns its path.</summary>
    public string WriteStatistics(FrameStatistics stats, IReadOnlyDictionary<string, object>? info = null)
    {
        var path = Path.Combine(Directory, "stats.json");
        File.WriteAllText(path, stats.ToJson(info));
        return path;
    }
}
