using System.Numerics;

namespace Kiln.Data.Scenes;

/// <summary>
/// A small CPU path tracer for <see cref="Scene"/>s: diffuse surfaces, cosine-weighted bounce sampling (so the
/// throughput is multiplied by the albedo), emission gathered on every hit, the sky when a path escapes, at
/// most <see cref="MaxBounces"/> bounces. Pixel positions are jittered within the pixel. Images are linear
/// radiance in CHW order (3 x height x width); the same estimator at any sample count, so a few-sample render
/// is an unbiased, noisy version of a many-sample one.
/// </summary>
public static class PathTracer
{
    /// <summary>Largest number of diffuse bounces of a path.</summary>
    public const int MaxBounces = 4;

    /// <summary>Renders <paramref name="samplesPerPixel"/> paths per pixel, drawing every number from <paramref name="random"/> in pixel order.</summary>
    public static void Render(Scene scene, int height, int width, int samplesPerPixel, Random random, Span<float> color)
    {
        Check(scene, height, width, samplesPerPixel, color.Length, 3);
        for (int y = 0; y < height; y++) RenderRow(scene, y, height, width, samplesPerPixel, random, color);
    }

    /// <summary>
    /// Renders with rows in parallel, row y drawing from its own generator seeded by (<paramref name="seed"/>, y):
    /// the result does not depend on the number of threads.
    /// </summary>
    public static void RenderParallel(Scene scene, int height, int width, int samplesPerPixel, int seed, float[] color)
    {
        Check(scene, height, width, samplesPerPixel, color.Length, 3);
        Parallel.For(0, height, y => RenderRow(scene, y, height, width, samplesPerPixel, new Random(Seeds.Mix(seed, y, 0x5CE7E)), color));
    }

    /// <summary>
    /// The denoiser's guide buffers: <paramref name="albedo"/> averaged over <paramref name="samplesPerPixel"/> jittered
    /// first hits (the surface albedo; the light's and the sky's radiance clipped to [0, 1] where a sample sees them),
    /// and <paramref name="normal"/> the unit world-space normal, facing the camera, seen through the pixel centre
    /// (zero where it sees the sky).
    /// </summary>
    public static void RenderGuides(Scene scene, int height, int width, int samplesPerPixel, Random random, Span<float> albedo, Span<float> normal)
    {
        Check(scene, height, width, samplesPerPixel, albedo.Length, 3);
        Check(scene, height, width, samplesPerPixel, normal.Length, 3);
        int plane = height * width;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var sum = Vector3.Zero;
                for (int s = 0; s < samplesPerPixel; s++)
                {
                    var d = scene.CameraRay(x + (float)random.NextDouble(), y + (float)random.NextDouble(), height, width);
                    var (i, t) = scene.Hit(scene.Eye, d);
                    if (i < 0) sum += Vector3.Clamp(scene.Sky(d), Vector3.Zero, Vector3.One);
                    else if (scene.Objects[i].Emission != Vector3.Zero) sum += Vector3.Clamp(scene.Objects[i].Emission, Vector3.Zero, Vector3.One);
                    else sum += scene.Objects[i].AlbedoAt(scene.Eye + t * d);
                }
                var n = Vector3.Zero;
                var dc = scene.CameraRay(x + 0.5f, y + 0.5f, height, width);
                var (ic, tc) = scene.Hit(scene.Eye, dc);
                if (ic >= 0)
                {
                    n = scene.Objects[ic].Normal(scene.Eye + tc * dc);
                    if (Vector3.Dot(n, dc) > 0) n = -n;
                }
                Write(albedo, plane, y * width + x, sum / samplesPerPixel);
                Write(normal, plane, y * width + x, n);
            }
    }

    static void RenderRow(Scene scene, int y, int height, int width, int spp, Random random, Span<float> color)
    {
        int plane = height * width;
        for (int x = 0; x < width; x++)
        {
            var sum = Vector3.Zero;
            for (int s = 0; s < spp; s++)
            {
                var d = scene.CameraRay(x + (float)random.NextDouble(), y + (float)random.NextDouble(), height, width);
                sum += Radiance(scene, scene.Eye, d, random);
            }
            Write(color, plane, y * width + x, sum / spp);
        }
    }

    static Vector3 Radiance(Scene scene, Vector3 o, Vector3 d, Random random)
    {
        var radiance = Vector3.Zero;
        var throughput = Vector3.One;
        for (int bounce = 0; bounce <= MaxBounces; bounce++)
        {
            var (i, t) = scene.Hit(o, d);
            if (i < 0) return radiance + throughput * scene.Sky(d);
            ref readonly var obj = ref scene.Objects[i];
            radiance += throughput * obj.Emission;
            if (bounce == MaxBounces || obj.Emission != Vector3.Zero) break;
            var p = o + t * d;
            var n = obj.Normal(p);
            if (Vector3.Dot(n, d) > 0) n = -n;
            throughput *= obj.AlbedoAt(p);
            o = p + n * 1e-3f;
            d = CosineSample(n, random);
        }
        return radiance;
    }

    /// <summary>A direction about <paramref name="n"/> with density cos(theta) / pi.</summary>
    static Vector3 CosineSample(Vector3 n, Random random)
    {
        float u1 = (float)random.NextDouble(), u2 = (float)random.NextDouble();
        float r = MathF.Sqrt(u1), phi = 2 * MathF.PI * u2;
        var t = MathF.Abs(n.X) > 0.9f ? Vector3.UnitY : Vector3.UnitX;
        var b1 = Vector3.Normalize(Vector3.Cross(n, t));
        var b2 = Vector3.Cross(n, b1);
        return Vector3.Normalize(r * MathF.Cos(phi) * b1 + r * MathF.Sin(phi) * b2 + MathF.Sqrt(MathF.Max(0, 1 - u1)) * n);
    }

    static void Write(Span<float> chw, int plane, int pixel, Vector3 v)
    {
        chw[pixel] = v.X;
        chw[plane + pixel] = v.Y;
        chw[2 * plane + pixel] = v.Z;
    }

    static void Check(Scene scene, int height, int width, int spp, int length, int channels)
    {
        ArgumentNullException.ThrowIfNull(scene);
        if (height <= 0 || width <= 0) throw new ArgumentException($"Image size {height}x{width} must be positive.");
        if (spp <= 0) throw new ArgumentOutOfRangeException(nameof(spp), spp, "At least one sample per pixel.");
        if (length < (long)channels * height * width) throw new ArgumentException($"A buffer of {length} values is smaller than {channels}x{height}x{width}.");
    }
}
