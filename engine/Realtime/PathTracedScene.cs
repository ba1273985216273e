using System.Numerics;
using Kiln.Data.Scenes;

namespace Kiln.Realtime;

/// <summary>
/// A <see cref="Scene"/> (the CPU path tracer's random scenes: ground, spheres, boxes, an emissive sphere as area
/// light, a sky) rendered on the GPU by shaders/realtime/pathtrace.comp with a camera orbiting the scene. Every
/// second sphere is glossy (a mirror lobe with some roughness); the rest is diffuse as on the CPU. Renders noisy
/// few-sample colour with albedo and normal guides, and a many-sample reference on request.
/// </summary>
public sealed class PathTracedScene : IDisposable
{
    const int Vec4PerObject = 6;
    readonly Scene scene;
    readonly Tensor objects;
    readonly float orbitRadius, eyeHeight, startAngle;
    static readonly Vector3 LookAt = new(0, 0.4f, 0);

    /// <summary>The scene of <paramref name="seed"/> (<see cref="Scene.Random"/>) uploaded to the GPU.</summary>
    public PathTracedScene(GpuContext context, int seed)
    {
        scene = Scene.Random(seed);
        var packed = new float[scene.ObjectCount * Vec4PerObject * 4];
        int sphere = 0;
        for (int i = 0; i < scene.ObjectCount; i++)
        {
            var o = scene.Objects[i];
            bool glossy = o.Kind == SceneObjectKind.Sphere && o.Emission == Vector3.Zero && sphere++ % 2 == 1;
            int kind = o.Kind switch { SceneObjectKind.Sphere => 0, SceneObjectKind.Box => 1, _ => 2 };
            Put(packed, i, 0, new Vector3(kind, o.Checker ? 1 : 0, glossy ? 0.7f : 0), glossy ? 0.12f : 0);
            Put(packed, i, 1, o.A);
            Put(packed, i, 2, o.B);
            Put(packed, i, 3, o.Albedo);
            Put(packed, i, 4, o.Emission);
            Put(packed, i, 5, o.Albedo2);
        }
        objects = Tensor.From(context, new Shape(packed.Length), packed, "path-traced scene objects");
        var eye = scene.Eye - LookAt;
        orbitRadius = new Vector2(eye.X, eye.Z).Length();
        eyeHeight = scene.Eye.Y;
        startAngle = MathF.Atan2(eye.Z, eye.X);
    }

    static void Put(float[] packed, int obj, int row, Vector3 v, float w = 0)
    {
        int at = (obj * Vec4PerObject + row) * 4;
        packed[at] = v.X; packed[at + 1] = v.Y; packed[at + 2] = v.Z; packed[at + 3] = w;
    }

    /// <summary>Radians per second the camera orbits the scene.</summary>
    public float OrbitSpeed { get; init; } = 0.15f;

    /// <summary>
    /// Records a render at scene time <paramref name="time"/>: <paramref name="samples"/> paths per pixel into
    /// <paramref name="colour"/> [3, H, W] (linear HDR), with the albedo and normal guides when both are given.
    /// Equal <paramref name="seed"/>s give equal noise.
    /// </summary>
    internal void Record(Frame frame, double time, int width, int height, int samples, uint seed, Tensor colour, Tensor? albedo = null, Tensor? normal = null)
    {
        if (samples < 1 || samples > 65536) throw new ArgumentOutOfRangeException(nameof(samples), samples, "Samples per pixel must be 1 to 65536.");
        long plane = 3L * width * height;
        foreach (var t in new[] { colour, albedo, normal })
            if (t != null && t.Elements != plane) throw new ArgumentException($"{t} does not hold [3, {height}, {width}].");
        bool guides = albedo != null && normal != null;
        float angle = startAngle + OrbitSpeed * (float)time;
        var eye = LookAt + new Vector3(orbitRadius * MathF.Cos(angle), eyeHeight - LookAt.Y, orbitRadius * MathF.Sin(angle));
        var forward = Vector3.Normalize(LookAt - eye);
        var right = Vector3.Normalize(Vector3.Cross(forward, Vector3.UnitY));
        var up = Vector3.Cross(right, forward);
        var push = Frame.Push(width, height, samples, seed, scene.ObjectCount, scene.TanHalfFov, 0f, 0f,
            eye.X, eye.Y, eye.Z, 0f, forward.X, forward.Y, forward.Z, 0f, right.X, right.Y, right.Z, 0f, up.X, up.Y, up.Z, 0f,
            scene.Horizon.X, scene.Horizon.Y, scene.Horizon.Z, 0f, scene.Zenith.X, scene.Zenith.Y, scene.Zenith.Z, 0f);
        frame.Dispatch2D("pathtrace", width, height, push, new uint[] { guides ? 1u : 0u }, objects, colour, albedo ?? colour, normal ?? colour);
    }

    public void Dispose() => objects.Dispose();
}
