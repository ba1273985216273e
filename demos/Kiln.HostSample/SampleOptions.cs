using System.Globalization;

namespace Kiln.HostSample;

/// <summary>
/// The sample's command line: <c>[--frames N] [--out DIR] [--size WxH] [--checkpoint FILE] [--noise F] [--validation]
/// [--window [--display NAME] [--resize F:WxH] [--screenshot FILE]]</c>.
/// </summary>
public sealed record SampleOptions
{
    const string Usage = "Usage: [--frames N] [--out DIR] [--size WxH] [--checkpoint FILE] [--noise F] [--validation] " +
        "[--window [--display NAME] [--resize F:WxH] [--screenshot FILE]]";

    /// <summary>Frames rendered: headless 8 unless given; in a window, until it is closed unless given.</summary>
    public int? Frames { get; init; }
    /// <summary>Folder the headless PNGs go to (created).</summary>
    public string OutputDirectory { get; init; } = "host-frames";
    /// <summary>Render size in pixels (each image; the window shows two side by side, so it starts 2W x H).</summary>
    public int Width { get; init; } = 160;
    /// <summary>Render size in pixels.</summary>
    public int Height { get; init; } = 96;
    /// <summary>The denoiser's parameters (safetensors); without one it is initialised from a seed (untrained).</summary>
    public string? Checkpoint { get; init; }
    /// <summary>Amplitude of the per-pixel grain added to the colour.</summary>
    public float Noise { get; init; } = 0.15f;
    /// <summary>Validation layer with synchronization validation on the sample's instance; also when KILN_VALIDATION=1.</summary>
    public bool Validation { get; init; }
    /// <summary>Open a window (GLFW, X11) and present every frame to it instead of writing PNGs.</summary>
    public bool Window { get; init; }
    /// <summary>The X display for the window (e.g. ":99"); null: $DISPLAY.</summary>
    public string? Display { get; init; }
    /// <summary>Resize the window at this frame (as a user would), to show two images of <see cref="ResizeWidth"/> x <see cref="ResizeHeight"/>.</summary>
    public int? ResizeAtFrame { get; init; }
    /// <summary>Render width after the resize.</summary>
    public int ResizeWidth { get; init; }
    /// <summary>Render height after the resize.</summary>
    public int ResizeHeight { get; init; }
    /// <summary>PNG of the window as the X server shows it after the last frame was presented.</summary>
    public string? Screenshot { get; init; }

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> naming the bad argument.</summary>
    public static SampleOptions Parse(IReadOnlyList<string> args)
    {
        var o = new SampleOptions { Validation = Environment.GetEnvironmentVariable("KILN_VALIDATION") is "1" or "true" };
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--frames": o = o with { Frames = PositiveInt(Value(), "--frames") }; break;
                case "--out": o = o with { OutputDirectory = Value() }; break;
                case "--size":
                    var (w, h) = Size(Value(), "--size");
                    o = o with { Width = w, Height = h };
                    break;
                case "--checkpoint": o = o with { Checkpoint = Value() }; break;
                case "--noise":
                    var n = Value();
                    if (!float.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || f < 0 || !float.IsFinite(f))
                        throw new ArgumentException($"--noise {n}: expected a number >= 0.");
                    o = o with { Noise = f };
                    break;
                case "--validation": o = o with { Validation = true }; break;
                case "--window": o = o with { Window = true }; break;
                case "--display": o = o with { Display = Value() }; break;
                case "--screenshot": o = o with { Screenshot = Value() }; break;
                case "--resize":
                    var r = Value();
                    var at = r.Split(':');
                    if (at.Length != 2 || !int.TryParse(at[0], NumberStyles.None, CultureInfo.InvariantCulture, out var frame))
                        throw new ArgumentException($"--resize {r}: expected FRAME:WIDTHxHEIGHT, e.g. 2:96x64.");
                    var (rw, rh) = Size(at[1], "--resize");
                    o = o with { ResizeAtFrame = frame, ResizeWidth = rw, ResizeHeight = rh };
                    break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }
        if (!o.Window && (o.Display != null || o.ResizeAtFrame != null || o.Screenshot != null))
            throw new ArgumentException("--display, --resize and --screenshot need --window.");
        if (o.ResizeAtFrame >= o.Frames)
            throw new ArgumentException($"--resize at frame {o.ResizeAtFrame} comes after the last frame (--frames {o.Frames}).");
        return o;
    }

    static (int Width, int Height) Size(string s, string what)
    {
        var parts = s.Split('x');
        if (parts.Length != 2) throw new ArgumentException($"{what} {s}: expected WIDTHxHEIGHT, e.g. 160x96.");
        return (PositiveInt(parts[0], what + " width"), PositiveInt(parts[1], what + " height"));
    }

    static int PositiveInt(string s, string what) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 4096
            ? v : throw new ArgumentException($"{what} {s}: expected a whole number from 1 to 4096.");
}
