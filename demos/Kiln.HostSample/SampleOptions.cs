using System.Globalization;

namespace Kiln.HostSample;

/// <summary>The sample's command line: <c>--frames N --out DIR [--size WxH] [--checkpoint FILE] [--noise F] [--validation]</c>.</summary>
public sealed record SampleOptions
{
    /// <summary>Frames rendered and written.</summary>
    public int Frames { get; init; } = 8;
    /// <summary>Folder the PNGs go to (created).</summary>
    public string OutputDirectory { get; init; } = "host-frames";
    /// <summary>Render size in pixels.</summary>
    public int Width { get; init; } = 160;
    /// <summary>Render size in pixels.</summary>
    public int Height { get; init; } = 96;
    /// <summary>The denoiser's parameters (safetensors); without one it is initialised from a seed (untrained).</summary>
    public string? Checkpoint { get; init; }
    /// <summary>Amplitude of the per-pixel grain added to the colour.</summary>
    public float Noise { get; init; } = 0.15f;
    /// <summary>Validation layer with synchronization validation on the sample's instance; also when KILN_VALIDATION=1.</summary>
    public bool Validation { get; init; }

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
                    var s = Value();
                    var parts = s.Split('x');
                    if (parts.Length != 2) throw new ArgumentException($"--size {s}: expected WIDTHxHEIGHT, e.g. 160x96.");
                    o = o with { Width = PositiveInt(parts[0], "--size width"), Height = PositiveInt(parts[1], "--size height") };
                    break;
                case "--checkpoint": o = o with { Checkpoint = Value() }; break;
                case "--noise":
                    var n = Value();
                    if (!float.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || f < 0 || !float.IsFinite(f))
                        throw new ArgumentException($"--noise {n}: expected a number >= 0.");
                    o = o with { Noise = f };
                    break;
                case "--validation": o = o with { Validation = true }; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: --frames N --out DIR [--size WxH] [--checkpoint FILE] [--noise F] [--validation]");
            }
        }
        return o;
    }

    static int PositiveInt(string s, string what) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 4096
            ? v : throw new ArgumentException($"{what} {s}: expected a whole number from 1 to 4096.");
}
