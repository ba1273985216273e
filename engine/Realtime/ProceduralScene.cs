namespace Kiln.Realtime;

/// <summary>
/// The default scene source, needing no files: shaders/realtime/procedural.comp (a textured ground under a moving 2-D
/// camera with textured shapes moving over it) and shaders/realtime/mask.comp (moving brush strokes and a box, the
/// inpainting demo's holes). Both are functions of the scene time only.
/// </summary>
internal static class ProceduralScene
{
    /// <summary>Records the scene at <paramref name="time"/> seconds into <paramref name="image"/> [3, H, W], linear RGB in [0, 1].</summary>
    public static void RecordImage(Frame frame, int width, int height, double time, Tensor image)
    {
        Check(image, 3L * width * height, width, height);
        frame.Dispatch2D("procedural", width, height, Frame.Push(width, height, (float)time), Array.Empty<uint>(), image);
    }

    /// <summary>Records the mask at <paramref name="time"/> into <paramref name="mask"/> [H, W]: 1 missing, 0 known.</summary>
    public static void RecordMask(Frame frame, int width, int height, double time, int strokes, Tensor mask)
    {
        Check(mask, (long)width * height, width, height);
        if (strokes is < 0 or > 8) throw new ArgumentOutOfRangeException(nameof(strokes), strokes, "0 to 8 strokes.");
        frame.Dispatch2D("mask", width, height, Frame.Push(width, height, (float)time, strokes), Array.Empty<uint>(), mask);
    }

    static void Check(Tensor t, long elements, int width, int height)
    {
        if (t.Elements != elements) throw new ArgumentException($"{t} does not hold {elements} values for a {width}x{height} frame.");
    }
}
