namespace Kiln.Realtime;

/// <summary>How a <see cref="FrameLoop"/> runs.</summary>
public sealed record FrameLoopOptions
{
    /// <summary>Frames recorded and submitted before the CPU waits for the oldest one (1..4; 1 makes the loop serial).</summary>
    public int FramesInFlight { get; init; } = 2;
    /// <summary>Frames per second to pace submissions to; null runs as fast as the device goes.</summary>
    public double? TargetFps { get; init; }
    /// <summary>Seconds of scene animation per frame (the scene's clock is frame-based, so runs are reproducible).</summary>
    public double SecondsPerFrame { get; init; } = 1.0 / 30;

    internal void Validate()
    {
        if (FramesInFlight is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(FramesInFlight), FramesInFlight, "Frames in flight must be 1 to 4.");
        if (TargetFps is { } f && !(f > 0 && f <= 1000)) throw new ArgumentOutOfRangeException(nameof(TargetFps), f, "The target rate must be in (0, 1000] frames per second.");
        if (!(SecondsPerFrame >= 0 && SecondsPerFrame < 10)) throw new ArgumentOutOfRangeException(nameof(SecondsPerFrame), SecondsPerFrame, "Seconds per frame must be in [0, 10).");
    }
}
