using System.Numerics;

namespace Kiln.Data.Scenes;

/// <summary>The kinds of primitives a <see cref="Scene"/> holds.</summary>
enum SceneObjectKind { Sphere, Box, Ground }

/// <summary>
/// One primitive with a diffuse material: a sphere (centre A, radius B.X), an axis-aligned box (corners A and B) or
/// the ground plane y = 0. <see cref="Checker"/> alternates the albedo with <see cref="Albedo2"/> on a unit grid.
/// </summary>
readonly record struct SceneObject(SceneObjectKind Kind, Vector3 A, Vector3 B, Vector3 Albedo, Vector3 Emission, bool Checker = false, Vector3 Albedo2 = default)
{
    const float Epsilon = 1e-4f;

    /// <summary>Distance along the (unit) ray to the nearest hit beyond a small epsilon, or +infinity.</summary>
    public float Intersect(Vector3 o, Vector3 d)
    {
        switch (Kind)
        {
            case SceneObjectKind.Sphere:
            {
                var oc = o - A;
                float b = Vector3.Dot(oc, d), c = oc.LengthSquared() - B.X * B.X, disc = b * b - c;
                if (disc < 0) return float.PositiveInfinity;
                float s = MathF.Sqrt(disc), t = -b - s;
                if (t > Epsilon) return t;
                t = -b + s;
                return t > Epsilon ? t : float.PositiveInfinity;
            }
            case SceneObjectKind.Box:
            {
                var inv = Vector3.One / d;
                var t0 = (A - o) * inv;
                var t1 = (B - o) * inv;
                var near = Vector3.Min(t0, t1);
                var far = Vector3.Max(t0, t1);
                float tn = MathF.Max(MathF.Max(near.X, near.Y), near.Z), tf = MathF.Min(MathF.Min(far.X, far.Y), far.Z);
                if (tn > tf || tf <= Epsilon) return float.PositiveInfinity;
                return tn > Epsilon ? tn : tf;
            }
            default:
            {
                if (MathF.Abs(d.Y) < 1e-8f) return float.PositiveInfinity;
                float t = -o.Y / d.Y;
                return t > Epsilon ? t : float.PositiveInfinity;
            }
        }
    }

    /// <summary>The outward unit normal at a point on the surface.</summary>
    public Vector3 Normal(Vector3 p)
    {
        switch (Kind)
        {
            case SceneObjectKind.Sphere: return Vector3.Normalize(p - A);
            case SceneObjectKind.Box:
            {
                var centre = (A + B) * 0.5f;
                var q = (p - centre) / ((B - A) * 0.5f);
                var a = Vector3.Abs(q);
                if (a.X >= a.Y && a.X >= a.Z) return new Vector3(MathF.Sign(q.X), 0, 0);
                if (a.Y >= a.Z) return new Vector3(0, MathF.Sign(q.Y), 0);
                return new Vector3(0, 0, MathF.Sign(q.Z));
            }
            default: return Vector3.UnitY;
        }
    }

    /// <summary>The diffuse albedo at a point on the surface.</summary>
    public Vector3 AlbedoAt(Vector3 p) =>
        Checker && (((int)MathF.Floor(p.X) + (int)MathF.Floor(p.Z)) & 1) == 1 ? Albedo2 : Albedo;
}
