using System.Numerics;

namespace Kiln.Data.Scenes;

/// <summary>
/// A small random scene for the path tracer: a (sometimes checkered) ground plane, 3 to 6 diffuse spheres and 1
/// to 3 boxes standing on it, one emissive sphere as an area light, a sky whose radiance goes from a horizon
/// colour to a zenith colour, and a pinhole camera looking at the middle. A scene is a function of its seed.
/// </summary>
public sealed class Scene
{
    internal SceneObject[] Objects { get; }
    internal Vector3 Eye { get; }
    internal Vector3 Forward { get; }
    internal Vector3 Right { get; }
    internal Vector3 Up { get; }
    internal float TanHalfFov { get; }
    internal Vector3 Horizon { get; }
    internal Vector3 Zenith { get; }

    internal Scene(SceneObject[] objects, Vector3 eye, Vector3 lookAt, float fovDegrees, Vector3 horizon, Vector3 zenith)
    {
        Objects = objects;
        Eye = eye;
        Forward = Vector3.Normalize(lookAt - eye);
        Right = Vector3.Normalize(Vector3.Cross(Forward, Vector3.UnitY));
        Up = Vector3.Cross(Right, Forward);
        TanHalfFov = MathF.Tan(fovDegrees * MathF.PI / 360);
        Horizon = horizon;
        Zenith = zenith;
    }

    /// <summary>Number of primitives, the ground and the light included.</summary>
    public int ObjectCount => Objects.Length;

    /// <summary>The scene of <paramref name="seed"/>.</summary>
    public static Scene Random(int seed)
    {
        var rng = new Random(seed);
        float U(float a, float b) => a + (float)rng.NextDouble() * (b - a);
        Vector3 Colour(float lo, float hi) => new(U(lo, hi), U(lo, hi), U(lo, hi));
        var objects = new List<SceneObject>
        {
            new(SceneObjectKind.Ground, default, default, Colour(0.2f, 0.8f), default, Checker: rng.Next(2) == 0, Albedo2: Colour(0.1f, 0.9f)),
        };
        var placed = new List<(float X, float Z, float R)>();
        bool Free(float x, float z, float r) => placed.All(p => (p.X - x) * (p.X - x) + (p.Z - z) * (p.Z - z) > (p.R + r) * (p.R + r));
        int spheres = 3 + rng.Next(4), boxes = 1 + rng.Next(3);
        for (int tries = 0; tries < 200 && spheres + boxes > 0; tries++)
        {
            bool sphere = spheres > 0 && (boxes == 0 || rng.Next(2) == 0);
            float r = U(0.2f, 0.6f), x = U(-2f, 2f), z = U(-2f, 2f);
            if (!Free(x, z, sphere ? r : r * 1.42f)) continue;
            placed.Add((x, z, sphere ? r : r * 1.42f));
            var albedo = Colour(0.05f, 0.95f);
            if (sphere)
            {
                objects.Add(new(SceneObjectKind.Sphere, new Vector3(x, r, z), new Vector3(r, 0, 0), albedo, default));
                spheres--;
            }
            else
            {
                float height = U(0.3f, 1.2f);
                objects.Add(new(SceneObjectKind.Box, new Vector3(x - r, 0, z - r), new Vector3(x + r, height, z + r), albedo, default));
                boxes--;
            }
        }
        float lightRadius = U(0.4f, 0.8f), power = U(4f, 8f);
        var lightColour = new Vector3(1f, U(0.8f, 1f), U(0.6f, 1f)) * power;
        objects.Add(new(SceneObjectKind.Sphere, new Vector3(U(-2f, 2f), U(2.2f, 3.2f), U(-2f, 2f)), new Vector3(lightRadius, 0, 0), Vector3.Zero, lightColour));
        float angle = U(0, 2 * MathF.PI), distance = U(4.5f, 6.5f);
        var eye = new Vector3(distance * MathF.Cos(angle), U(1.2f, 2.8f), distance * MathF.Sin(angle));
        float sky = U(0.4f, 1.2f);
        var horizon = new Vector3(U(0.7f, 1f), U(0.7f, 1f), U(0.7f, 1f)) * sky;
        var zenith = new Vector3(U(0.1f, 0.4f), U(0.3f, 0.6f), U(0.6f, 1f)) * sky;
        return new Scene(objects.ToArray(), eye, new Vector3(0, 0.4f, 0), U(40f, 60f), horizon, zenith);
    }

    /// <summary>The sky's radiance in direction <paramref name="d"/> (unit).</summary>
    internal Vector3 Sky(Vector3 d) => Vector3.Lerp(Horizon, Zenith, Math.Clamp(d.Y, 0f, 1f));

    /// <summary>The unit direction of the camera ray through image point (px, py) in pixels, (0, 0) the top-left corner.</summary>
    internal Vector3 CameraRay(float px, float py, int height, int width)
    {
        float aspect = (float)width / height;
        float sx = (2 * px / width - 1) * TanHalfFov * aspect, sy = (1 - 2 * py / height) * TanHalfFov;
        return Vector3.Normalize(Forward + sx * Right + sy * Up);
    }

    /// <summary>The nearest object hit by the ray: its index and distance, or (-1, +infinity).</summary>
    internal (int Index, float T) Hit(Vector3 o, Vector3 d)
    {
        int best = -1;
        float bestT = float.PositiveInfinity;
        for (int i = 0; i < Objects.Length; i++)
        {
            float t = Objects[i].Intersect(o, d);
            if (t < bestT) { bestT = t; best = i; }
        }
        return (best, bestT);
    }
}
