namespace Kiln.Data;

/// <summary>
/// Damage for restoration training, drawn only from the <see cref="Random"/> passed: hole masks for inpainting
/// (1 = missing pixel, 0 = kept) and Gaussian and Poisson noise for denoising. Masks are [height, width]
/// row-major; images are any float span.
/// </summary>
public static class Corruptions
{
    /// <summary>A standard normal sample (Marsaglia's polar method).</summary>
    public static double Normal(Random random)
    {
        double v1, v2, s;
        do
        {
            v1 = 2 * random.NextDouble() - 1;
            v2 = 2 * random.NextDouble() - 1;
            s = v1 * v1 + v2 * v2;
        } while (s >= 1 || s == 0);
        return v1 * Math.Sqrt(-2 * Math.Log(s) / s);
    }

    /// <summary>Adds N(0, sigma^2) to every value, clipped to [0, 1] when <paramref name="clip"/>.</summary>
    public static void AddGaussianNoise(Span<float> values, double sigma, Random random, bool clip = false)
    {
        if (!(sigma >= 0 && double.IsFinite(sigma))) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "Sigma must be finite and >= 0.");
        for (int i = 0; i < values.Length; i++)
        {
            float v = (float)(values[i] + sigma * Normal(random));
            values[i] = clip ? Math.Clamp(v, 0f, 1f) : v;
        }
    }

    /// <summary>
    /// Shot noise of a sensor that counts <paramref name="photons"/> photons at value 1: each value v becomes
    /// Poisson(max(v, 0) * photons) / photons (mean v, variance v / photons), clipped to [0, 1] when <paramref name="clip"/>.
    /// </summary>
    public static void AddPoissonNoise(Span<float> values, double photons, Random random, bool clip = false)
    {
        if (!(photons > 0 && double.IsFinite(photons))) throw new ArgumentOutOfRangeException(nameof(photons), photons, "The photon count must be finite and > 0.");
        for (int i = 0; i < values.Length; i++)
        {
            float v = (float)(Poisson(random, Math.Max(values[i], 0) * photons) / photons);
            values[i] = clip ? Math.Min(v, 1f) : v;
        }
    }

    /// <summary>A Poisson(<paramref name="lambda"/>) sample: Knuth's product of uniforms below 30, Hörmann's PTRS above.</summary>
    public static long Poisson(Random random, double lambda)
    {
        if (!(lambda >= 0 && double.IsFinite(lambda))) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Lambda must be finite and >= 0.");
        if (lambda == 0) return 0;
        if (lambda < 30)
        {
            double limit = Math.Exp(-lambda), product = random.NextDouble();
            long k = 0;
            while (product > limit) { product *= random.NextDouble(); k++; }
            return k;
        }
        double slam = Math.Sqrt(lambda), loglam = Math.Log(lambda);
        double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b, invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
        while (true)
        {
            double u = random.NextDouble() - 0.5, v = random.NextDouble(), us = 0.5 - Math.Abs(u);
            double k = Math.Floor((2 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= vr) return (long)k;
            if (k < 0 || (us < 0.013 && v > us)) continue;
            if (Math.Log(v) + Math.Log(invAlpha) - Math.Log(a / (us * us) + b) <= -lambda + k * loglam - LogGamma(k + 1)) return (long)k;
        }
    }

    /// <summary>
    /// Writes a mask of 1 to <paramref name="maxStrokes"/> brush strokes: thick polylines of 2 to 8 segments
    /// with round joints, each of a width between 5% and <paramref name="maxWidthFraction"/> of the shorter side.
    /// </summary>
    public static void BrushStrokes(Span<float> mask, int height, int width, Random random, int maxStrokes = 4, double maxWidthFraction = 0.12)
    {
        CheckMask(mask, height, width);
        if (maxStrokes < 1) throw new ArgumentOutOfRangeException(nameof(maxStrokes), maxStrokes, "At least one stroke.");
        if (!(maxWidthFraction > 0 && maxWidthFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(maxWidthFraction), maxWidthFraction, "Width fraction must be in (0, 1].");
        mask[..(height * width)].Clear();
        int side = Math.Min(height, width);
        int strokes = 1 + random.Next(maxStrokes);
        for (int s = 0; s < strokes; s++)
        {
            double minRadius = Math.Max(1, 0.025 * side), maxRadius = Math.Max(minRadius, maxWidthFraction * side / 2);
            double radius = minRadius + random.NextDouble() * (maxRadius - minRadius);
            double x = random.NextDouble() * width, y = random.NextDouble() * height, angle = random.NextDouble() * 2 * Math.PI;
            int segments = 2 + random.Next(7);
            for (int i = 0; i < segments; i++)
            {
                angle += (random.NextDouble() - 0.5) * Math.PI; // turn at most 90 degrees either way
                double length = (0.1 + 0.2 * random.NextDouble()) * side;
                double nx = Math.Clamp(x + length * Math.Cos(angle), 0, width - 1), ny = Math.Clamp(y + length * Math.Sin(angle), 0, height - 1);
                Capsule(mask, height, width, x, y, nx, ny, radius);
                (x, y) = (nx, ny);
            }
        }
    }

    /// <summary>Writes a mask of 1 to <paramref name="maxBoxes"/> axis-aligned rectangles, each side a fraction in [minFraction, maxFraction] of the image's.</summary>
    public static void Boxes(Span<float> mask, int height, int width, Random random, int maxBoxes = 2, double minFraction = 0.15, double maxFraction = 0.45)
    {
        CheckMask(mask, height, width);
        if (maxBoxes < 1) throw new ArgumentOutOfRangeException(nameof(maxBoxes), maxBoxes, "At least one box.");
        if (!(minFraction > 0 && minFraction <= maxFraction && maxFraction <= 1)) throw new ArgumentException($"Box fractions [{minFraction}, {maxFraction}] must satisfy 0 < min <= max <= 1.");
        mask[..(height * width)].Clear();
        int boxes = 1 + random.Next(maxBoxes);
        for (int b = 0; b < boxes; b++)
        {
            int bh = Math.Max(1, (int)Math.Round(height * (minFraction + random.NextDouble() * (maxFraction - minFraction))));
            int bw = Math.Max(1, (int)Math.Round(width * (minFraction + random.NextDouble() * (maxFraction - minFraction))));
            int y0 = random.Next(height - bh + 1), x0 = random.Next(width - bw + 1);
            for (int y = y0; y < y0 + bh; y++) mask.Slice(y * width + x0, bw).Fill(1f);
        }
    }

    /// <summary>Sets to 1 the pixels whose centres lie within <paramref name="radius"/> of segment (x0, y0)-(x1, y1).</summary>
    static void Capsule(Span<float> mask, int height, int width, double x0, double y0, double x1, double y1, double radius)
    {
        int yMin = Math.Max(0, (int)Math.Floor(Math.Min(y0, y1) - radius)), yMax = Math.Min(height - 1, (int)Math.Ceiling(Math.Max(y0, y1) + radius));
        int xMin = Math.Max(0, (int)Math.Floor(Math.Min(x0, x1) - radius)), xMax = Math.Min(width - 1, (int)Math.Ceiling(Math.Max(x0, x1) + radius));
        double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, r2 = radius * radius;
        for (int y = yMin; y <= yMax; y++)
            for (int x = xMin; x <= xMax; x++)
            {
                double px = x + 0.5 - x0, py = y + 0.5 - y0;
                double t = len2 > 0 ? Math.Clamp((px * dx + py * dy) / len2, 0, 1) : 0;
                double ex = px - t * dx, ey = py - t * dy;
                if (ex * ex + ey * ey <= r2) mask[y * width + x] = 1f;
            }
    }

    static void CheckMask(Span<float> mask, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Mask size {height}x{width} must be positive.");
        if (mask.Length < (long)height * width) throw new ArgumentException($"Mask span of {mask.Length} values is smaller than {height}x{width}.", nameof(mask));
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = c[0], t = x + 7.5;
        for (int i = 1; i < 9; i++) sum += c[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
