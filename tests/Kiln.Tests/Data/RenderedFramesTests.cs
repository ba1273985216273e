using System.Diagnostics;
using System.Numerics;
using Kiln.Data.Scenes;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class RenderedFramesTests
{
    const int H = 32, W = 32, Plane = H * W;

    [Test]
    public void Layout_IsTheDenoiserUNets_ColourAlbedoNormal()
    {
        var data = new RenderedFramesDataset(2, H, W, convergedSamples: 32);
        Assert.That(data.InputShape, Is.EqualTo(new Shape(DenoiseUNet.InputChannels, H, W)));
        Assert.That(data.TargetShape, Is.EqualTo(new Shape(DenoiseUNet.OutputChannels, H, W)));
        Assert.That((data.ClassCount, data.Label(1)), Is.EqualTo((0, -1)));
    }

    [Test]
    public void NoisyRenders_AverageToTheConvergedRender_AndTheirNoiseShrinksWithSamples()
    {
        var sw = Stopwatch.StartNew();
        var data = new RenderedFramesDataset(1, H, W, noisySamples: 4, convergedSamples: 256, seed: 5);
        float[] input = new float[9 * Plane], target = new float[3 * Plane];
        const int reads = 8;
        var imageMeans = new double[reads, 3];
        var sum = new double[3 * Plane];
        var random = new Random(1);
        double singleError = 0;
        for (int r = 0; r < reads; r++)
        {
            data.Read(0, input, target, random);
            for (int c = 0; c < 3; c++) imageMeans[r, c] = input.Skip(c * Plane).Take(Plane).Average();
            for (int i = 0; i < 3 * Plane; i++) sum[i] += input[i];
            if (r == 0) singleError = Enumerable.Range(0, 3 * Plane).Average(i => Math.Abs(input[i] - target[i]));
        }
        TestContext.Out.WriteLine($"{H}x{W}: converged 256 spp and {reads} noisy reads in {sw.ElapsedMilliseconds} ms");
        for (int c = 0; c < 3; c++)
        {
            double converged = target.Skip(c * Plane).Take(Plane).Average();
            var means = Enumerable.Range(0, reads).Select(r => imageMeans[r, c]).ToArray();
            double mean = means.Average(), sd = Math.Sqrt(means.Sum(m => (m - mean) * (m - mean)) / (reads - 1));
            // The noisy image mean is an unbiased estimate of the converged one: within 5 standard errors of the
            // mean of 8 reads (plus 2% for the converged render's own noise).
            Assert.That(mean, Is.EqualTo(converged).Within(5 * sd / Math.Sqrt(reads) + 0.02 * converged), $"channel {c}");
            Assert.That(converged, Is.GreaterThan(0.02), "the scene is lit");
        }
        double averagedError = Enumerable.Range(0, 3 * Plane).Average(i => Math.Abs(sum[i] / reads - target[i]));
        TestContext.Out.WriteLine($"mean |noisy - converged|: 4 spp {singleError:F4}, 32 spp {averagedError:F4}");
        Assert.That(singleError, Is.GreaterThan(0.01), "4 paths per pixel are visibly noisy");
        Assert.That(averagedError, Is.LessThan(0.6 * singleError), "8x the samples: error about 1/sqrt(8) as large");
    }

    [Test]
    public void Normals_AreUnitOrZero_AndFaceTheCamera_AlbedoInRange()
    {
        var data = new RenderedFramesDataset(3, H, W, convergedSamples: 8, seed: 2);
        float[] input = new float[9 * Plane], target = new float[3 * Plane];
        for (int s = 0; s < data.Count; s++)
        {
            data.Read(s, input, target, new Random(0));
            var scene = data.SceneAt(s);
            int hits = 0;
            for (int p = 0; p < Plane; p++)
            {
                var n = new Vector3(input[6 * Plane + p], input[7 * Plane + p], input[8 * Plane + p]);
                if (n == Vector3.Zero) continue;
                hits++;
                Assert.That(n.Length(), Is.EqualTo(1f).Within(1e-5f), $"scene {s} pixel {p}");
                var view = scene.CameraRay(p % W + 0.5f, p / W + 0.5f, H, W);
                Assert.That(Vector3.Dot(n, view), Is.LessThanOrEqualTo(1e-6f), "normals face the camera");
            }
            Assert.That(hits, Is.GreaterThan(Plane / 4), "the ground and objects fill much of the frame");
            Assert.That(input.Skip(3 * Plane).Take(3 * Plane), Is.All.InRange(0f, 1f), "albedo");
            Assert.That(target, Is.All.GreaterThanOrEqualTo(0f));
        }
    }

    [Test]
    public void SameSeedSameScenes_SameRandomSameNoise_TargetsCached()
    {
        var a = new RenderedFramesDataset(2, 16, 16, convergedSamples: 16, seed: 9);
        var b = new RenderedFramesDataset(2, 16, 16, convergedSamples: 16, seed: 9);
        float[] ia = new float[9 * 256], ta = new float[768], ib = new float[9 * 256], tb = new float[768];
        a.Read(1, ia, ta, new Random(4));
        b.Read(1, ib, tb, new Random(4));
        Assert.That((ia, ta), Is.EqualTo((ib, tb)));
        b.Read(1, ib, tb, new Random(5));
        Assert.That(tb, Is.EqualTo(ta), "the converged target does not change between reads");
        Assert.That(ib.Take(768), Is.Not.EqualTo(ia.Take(768)), "new noise from another Random");
        Assert.That(ib.Skip(768), Is.EqualTo(ia.Skip(768)), "guides are fixed");
        Assert.That(a.SceneAt(1), Is.SameAs(a.SceneAt(1)));
        var c = new RenderedFramesDataset(2, 16, 16, convergedSamples: 16, seed: 10);
        c.Read(1, ib, tb, new Random(4));
        Assert.That(tb, Is.Not.EqualTo(ta));
    }

    [Test]
    public void Furnace_ConvexDiffuseUnderAUniformSky_ReflectsAlbedoTimesSky()
    {
        // Under a uniform sky of radiance L every bounce off a lone convex diffuse surface (the ground alone, or a
        // sphere alone) escapes to the sky, so each path carries exactly albedo * L: no noise, exact value.
        var sky = new Vector3(0.8f, 0.6f, 0.4f);
        foreach (var obj in new[]
        {
            new SceneObject(SceneObjectKind.Ground, default, default, new Vector3(0.5f, 0.25f, 1f), default),
            new SceneObject(SceneObjectKind.Sphere, new Vector3(0, 1, 0), new Vector3(1, 0, 0), new Vector3(0.9f, 0.3f, 0.7f), default),
        })
        {
            var scene = new Scene(new[] { obj }, new Vector3(0, 2, 5), new Vector3(0, 0.5f, 0), 50, sky, sky);
            float[] color = new float[3 * Plane], albedo = new float[3 * Plane], normal = new float[3 * Plane];
            PathTracer.Render(scene, H, W, 2, new Random(3), color);
            PathTracer.RenderGuides(scene, H, W, 1, new Random(3), albedo, normal);
            int hits = 0;
            for (int p = 0; p < Plane; p++)
            {
                bool hit = normal[p] != 0 || normal[Plane + p] != 0 || normal[2 * Plane + p] != 0;
                var expected = hit ? obj.Albedo * sky : sky;
                var d = scene.CameraRay(p % W + 0.5f, p / W + 0.5f, H, W);
                if (hit != (obj.Intersect(scene.Eye, d) < float.PositiveInfinity)) Assert.Fail($"pixel {p}: normal buffer disagrees with the ray");
                bool Sees(int dx, int dy) => obj.Intersect(scene.Eye, scene.CameraRay(p % W + dx, p / W + dy, H, W)) < float.PositiveInfinity;
                bool edge = !(Sees(0, 0) == hit && Sees(1, 0) == hit && Sees(0, 1) == hit && Sees(1, 1) == hit);
                if (edge) continue; // pixels straddling the silhouette mix both values
                hits += hit ? 1 : 0;
                for (int c = 0; c < 3; c++)
                    Assert.That(color[c * Plane + p], Is.EqualTo(c switch { 0 => expected.X, 1 => expected.Y, _ => expected.Z }).Within(1e-5f), $"{obj.Kind} pixel {p} channel {c}");
            }
            Assert.That(hits, Is.GreaterThan(Plane / 16), "enough interior pixels checked");
        }
    }

    [Test]
    public void RayPrimitiveIntersections_MatchGeometry()
    {
        var sphere = new SceneObject(SceneObjectKind.Sphere, new Vector3(0, 0, 5), new Vector3(1, 0, 0), Vector3.One, default);
        Assert.That(sphere.Intersect(Vector3.Zero, Vector3.UnitZ), Is.EqualTo(4f).Within(1e-5f));
        Assert.That(sphere.Intersect(new Vector3(0, 0, 5), Vector3.UnitZ), Is.EqualTo(1f).Within(1e-5f), "from inside");
        Assert.That(sphere.Intersect(new Vector3(0, 1.01f, 0), Vector3.UnitZ), Is.EqualTo(float.PositiveInfinity));
        Assert.That(sphere.Normal(new Vector3(0, 0, 4)), Is.EqualTo(-Vector3.UnitZ));
        var box = new SceneObject(SceneObjectKind.Box, new Vector3(-1, 0, 2), new Vector3(1, 1, 3), Vector3.One, default);
        Assert.That(box.Intersect(new Vector3(0, 0.5f, 0), Vector3.UnitZ), Is.EqualTo(2f).Within(1e-5f));
        Assert.That(box.Normal(new Vector3(0, 0.5f, 2)), Is.EqualTo(-Vector3.UnitZ));
        Assert.That(box.Normal(new Vector3(0.2f, 1f, 2.5f)), Is.EqualTo(Vector3.UnitY));
        Assert.That(box.Intersect(new Vector3(2, 0.5f, 0), Vector3.UnitZ), Is.EqualTo(float.PositiveInfinity));
        var ground = new SceneObject(SceneObjectKind.Ground, default, default, Vector3.One, default, Checker: true, Albedo2: Vector3.Zero);
        Assert.That(ground.Intersect(new Vector3(0, 2, 0), Vector3.Normalize(new Vector3(1, -1, 0))), Is.EqualTo(2 * MathF.Sqrt(2)).Within(1e-5f));
        Assert.That((ground.AlbedoAt(new Vector3(0.5f, 0, 0.5f)), ground.AlbedoAt(new Vector3(1.5f, 0, 0.5f))), Is.EqualTo((Vector3.One, Vector3.Zero)));
    }
}
