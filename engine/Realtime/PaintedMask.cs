namespace Kiln.Realtime;

/// <summary>
/// A mask painted by the user (brush strokes from the browser viewer), kept on the host and uploaded to the GPU
/// (asynchronously, ordered before the next frame) when it changed. Thread-safe: strokes arrive from the server's
/// threads while the loop records frames.
/// </summary>
internal sealed class PaintedMask
{
    readonly float[] values;
    readonly object gate = new();
    bool dirty, active;

    public PaintedMask(int width, int height)
    {
        Width = width;
        Height = height;
        values = new float[width * height];
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>Whether any stroke has been painted since the last <see cref="Clear"/>.</summary>
    public bool Active { get { lock (gate) return active; } }

    /// <summary>Paints discs of <paramref name="radius"/> pixels along the polyline through <paramref name="points"/> (pixel coordinates).</summary>
    public void Stroke(IReadOnlyList<(float X, float Y)> points, float radius)
    {
        if (points.Count == 0) return;
        lock (gate)
        {
            for (int i = 0; i < points.Count; i++)
            {
                var a = points[i];
                var b = i + 1 < points.Count ? points[i + 1] : a;
                float len = MathF.Max(MathF.Abs(b.X - a.X), MathF.Abs(b.Y - a.Y));
                int steps = Math.Max(1, (int)MathF.Ceiling(len / MathF.Max(radius * 0.5f, 0.5f)));
                for (int s = 0; s <= steps; s++)
                {
                    float t = (float)s / steps;
                    Disc(a.X + (b.X - a.X) * t, a.Y + (b.Y - a.Y) * t, radius);
                }
            }
            active = dirty = true;
        }
    }

    void Disc(float cx, float cy, float r)
    {
        int x0 = Math.Max(0, (int)MathF.Floor(cx - r)), x1 = Math.Min(Width - 1, (int)MathF.Ceiling(cx + r));
        int y0 = Math.Max(0, (int)MathF.Floor(cy - r)), y1 = Math.Min(Height - 1, (int)MathF.Ceiling(cy + r));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
                if (dx * dx + dy * dy <= r * r) values[y * Width + x] = 1;
            }
    }

    /// <summary>Erases the painting: the demo goes back to its generated masks.</summary>
    public void Clear()
    {
        lock (gate)
        {
            Array.Clear(values);
            active = false;
            dirty = true;
        }
    }

    /// <summary>Starts the upload into <paramref name="target"/> if the painting changed; returns whether it is active.</summary>
    public bool UploadIfChanged(Tensor target)
    {
        lock (gate)
        {
            if (dirty)
            {
                target.UploadAsync(values);
                dirty = false;
            }
            return active;
        }
    }
}
