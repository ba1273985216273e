namespace Kiln.Realtime;

/// <summary>
/// A finished frame as a presenter sees it: the composed RGBA8 pixels (row-major, 4 bytes a pixel, valid only
/// during the callback) and what was measured.
/// </summary>
public readonly ref struct CompletedFrame
{
    internal CompletedFrame(FrameRecord record, ReadOnlySpan<byte> rgba, int width, int height)
    {
        Record = record;
        Rgba = rgba;
        Width = width;
        Height = height;
    }

    /// <summary>Index, times and metrics.</summary>
    public FrameRecord Record { get; }
    /// <summary>RGBA8 pixels, <see cref="Width"/> x <see cref="Height"/>, top row first.</summary>
    public ReadOnlySpan<byte> Rgba { get; }
    public int Width { get; }
    public int Height { get; }
}
