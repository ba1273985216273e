namespace Kiln.Data;

/// <summary>
/// Textured synthetic RGB images that need no files, as clean images for inpainting: a two-colour gradient, a
/// texture (checkerboard, stripes at an angle, or a sum of sines) and 3 to 8 shapes (discs, rectangles, rings,
/// some striped) in random colours. Image i is a function of (seed, i) alone: input = target = [3, H, W] in [0, 1].
/// </summary>
public sealed class ProceduralImages : IDataset
{
    readonly int seed;

    /// <summary><paramref name="count"/> images of <paramref name="height"/> x <paramref name="width"/> from <paramref name="seed"/>.</summary>
    public ProceduralImages(int count, int height, int width, int seed = 0)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one image.");
        Count = count;
        this.seed = seed;
        InputShape = TargetShape = new Shape(3, height, width);
    }

    public int Count { get; }
    public Shape InputShape { get; }
    public Shape TargetShape { get; }
    public int ClassCount => 0;
    public int Label(int index)
    {
        DatasetChecks.Index(this, index);
        return -1;
    }

    /// <summary>Writes image <paramref name="index"/> to both spans; <paramref name="random"/> is not used.</summary>
    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        Render(target, new Random(Seeds.Mix(seed, index, 0x1D4A)));
        target[..(int)TargetShape.Elements].CopyTo(input);
    }

    void Render(Span<float> image, Random rng)
    {
        int h = TargetShape[1], w = TargetShape[2], plane = h * w;
        var c0 = Colour(rng);
        var c1 = Colour(rng);
        double ga = rng.NextDouble() * 2 * Math.PI, gx = Math.Cos(ga), gy = Math.Sin(ga);
        int texture = rng.Next(3);
        double freq = (2 + rng.NextDouble() * 6) * 2 * Math.PI, ta = rng.NextDouble() * Math.PI, strength = 0.1 + 0.25 * rng.NextDouble();
        var sines = Enumerable.Range(0, 3).Select(_ => (Fx: (rng.NextDouble() - 0.5) * 20, Fy: (rng.NextDouble() - 0.5) * 20, Phase: rng.NextDouble() * 6.3)).ToArray();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double u = (x + 0.5) / w, v = (y + 0.5) / h;
                double t = Math.Clamp(0.5 + ((u - 0.5) * gx + (v - 0.5) * gy), 0, 1);
                double tex = texture switch
                {
                    0 => ((int)Math.Floor(u * freq / Math.PI) + (int)Math.Floor(v * freq / Math.PI)) % 2 == 0 ? 1 : -1,
                    1 => Math.Sin(freq * (u * Math.Cos(ta) + v * Math.Sin(ta))),
                    _ => sines.Sum(s => Math.Sin(s.Fx * u + s.Fy * v + s.Phase)) / 3,
                };
                for (int c = 0; c < 3; c++)
                    image[c * plane + y * w + x] = (float)Math.Clamp(c0[c] * (1 - t) + c1[c] * t + strength * tex * 0.5, 0, 1);
            }
        int shapes = 3 + rng.Next(6);
        for (int s = 0; s < shapes; s++)
        {
            var colour = Colour(rng);
            int kind = rng.Next(3);
            bool striped = rng.Next(3) == 0;
            double cx = rng.NextDouble() * w, cy = rng.NextDouble() * h, size = (0.08 + 0.25 * rng.NextDouble()) * Math.Min(h, w);
            double ax = size * (0.5 + rng.NextDouble()), ay = size * (0.5 + rng.NextDouble()), period = 2 + rng.Next(6);
            for (int y = Math.Max(0, (int)(cy - 1.5 * size - 2)); y < Math.Min(h, (int)(cy + 1.5 * size + 2)); y++)
                for (int x = Math.Max(0, (int)(cx - 1.5 * size - 2)); x < Math.Min(w, (int)(cx + 1.5 * size + 2)); x++)
                {
                    double dx = x + 0.5 - cx, dy = y + 0.5 - cy, r = Math.Sqrt(dx * dx + dy * dy);
                    bool inside = kind switch
                    {
                        0 => r <= size,
                        1 => Math.Abs(dx) <= ax && Math.Abs(dy) <= ay,
                        _ => r <= size && r >= 0.6 * size,
                    };
                    if (!inside) continue;
                    double shade = striped && ((int)Math.Floor((x + y) / period) & 1) == 1 ? 0.6 : 1.0;
                    for (int c = 0; c < 3; c++) image[c * plane + y * w + x] = (float)(colour[c] * shade);
                }
        }
    }

    static double[] Colour(Random rng) => new[] { rng.NextDouble(), rng.NextDouble(), rng.NextDouble() };
}
