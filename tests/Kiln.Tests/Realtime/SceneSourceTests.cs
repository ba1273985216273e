using Kiln.Data.Scenes;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>The GPU scene sources: the procedural scene, the moving masks and the path tracer.</summary>
public sealed class SceneSourceTests : GpuTest
{
    /// <summary>|n| of a written normal is 1 up to float rounding.</summary>
    const double UnitNormal = 1e-4;
    /// <summary>The averaged noisy renders' image mean matches the reference's to this relative error (Monte-Carlo noise at these counts is ~0.5%).</summary>
    const double MeanAgreement = 0.03;

    float[] Render(int width, int height, long elements, Action<Frame, Tensor> record)
    {
        using var t = new Tensor(Context, new Shape((int)elements), name: "scene test output");
        using (var list = Context.CreateCommandList("scene test"))
        {
            record(new Frame(list), t);
            list.Run();
        }
        return t.ToArray();
    }

    float[] Procedural(double time) => Render(64, 48, 3 * 64 * 48, (f, t) => ProceduralScene.RecordImage(f, 64, 48, time, t));
    float[] Mask(double time) => Render(64, 48, 64 * 48, (f, t) => ProceduralScene.RecordMask(f, 64, 48, time, 3, t));

    static double Std(float[] v)
    {
        double mean = v.Average(x => (double)x);
        return Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
    }

    [Test]
    public void ProceduralScene_IsATexturedImageInRange_ThatMovesAndRepeats()
    {
        var a = Procedural(0.0);
        var again = Procedural(0.0);
        var later = Procedural(2.0);
        Assert.That(a, Has.All.InRange(0f, 1f));
        Assert.That(Std(a), Is.GreaterThan(0.05), "the image has structure, not one colour");
        Assert.That(again, Is.EqualTo(a), "a function of the time only");
        double moved = a.Zip(later, (x, y) => Math.Abs(x - y)).Average();
        Assert.That(moved, Is.GreaterThan(0.02), "the camera and shapes move");
    }

    [Test]
    public void Masks_AreBinaryHolesCoveringPartOfTheFrame_AndMove()
    {
        var m0 = Mask(0.0);
        var m1 = Mask(3.0);
        Assert.That(m0.Concat(m1), Has.All.Matches<float>(v => v == 0f || v == 1f));
        double cover = m0.Average(v => (double)v);
        Assert.That(cover, Is.InRange(0.01, 0.5), "holes cover some of the frame, not all");
        Assert.That(m0.Zip(m1, (a, b) => a != b ? 1 : 0).Sum(), Is.GreaterThan(0), "the mask moves");
    }

    [Test]
    public void PathTracer_GuidesAreUnitNormalsAndAlbedoInRange_AsTheCpuTracerSees_TheScene()
    {
        const int w = 40, h = 32;
        using var scene = new PathTracedScene(Context, 5);
        using var colour = new Tensor(Context, new Shape(3, h, w));
        using var albedo = new Tensor(Context, new Shape(3, h, w));
        using var normal = new Tensor(Context, new Shape(3, h, w));
        using (var list = Context.CreateCommandList("guides"))
        {
            scene.Record(new Frame(list), 0, w, h, 4, 1, colour, albedo, normal);
            list.Run();
        }
        var n = normal.ToArray();
        var a = albedo.ToArray();
        Assert.That(a, Has.All.InRange(0f, 1f));
        Assert.That(colour.ToArray(), Has.All.Matches<float>(v => float.IsFinite(v) && v >= 0));
        int plane = w * h, sky = 0;
        for (int i = 0; i < plane; i++)
        {
            double len = Math.Sqrt(n[i] * n[i] + n[plane + i] * n[plane + i] + n[2 * plane + i] * n[2 * plane + i]);
            if (len == 0) { sky++; continue; }
            Assert.That(Math.Abs(len - 1), Is.LessThan(UnitNormal), $"normal at pixel {i}");
        }
        Assert.That(sky, Is.LessThan(plane), "the camera sees the scene");

        // At time 0 the orbiting camera is the scene's own: the CPU tracer's pixel-centre normals are the same
        // (up to pixels on silhouettes, where float rounding picks the other surface).
        var cpuAlbedo = new float[3 * plane];
        var cpuNormal = new float[3 * plane];
        PathTracer.RenderGuides(Scene.Random(5), h, w, 1, new Random(0), cpuAlbedo, cpuNormal);
        int agree = Enumerable.Range(0, plane).Count(i => Enumerable.Range(0, 3).All(c => Math.Abs(n[c * plane + i] - cpuNormal[c * plane + i]) < 1e-3));
        Assert.That(agree, Is.GreaterThanOrEqualTo((int)(0.97 * plane)), "pixel-centre normals agree with the CPU path tracer's");
    }

    [Test]
    public void PathTracer_NoisyRendersConvergeToTheAccumulatedReference()
    {
        const int w = 32, h = 32, renders = 16;
        using var scene = new PathTracedScene(Context, 2);
        using var reference = new Tensor(Context, new Shape(3, h, w));
        var noisy = Enumerable.Range(0, renders).Select(_ => new Tensor(Context, new Shape(3, h, w))).ToList();
        try
        {
            using (var list = Context.CreateCommandList("convergence"))
            {
                var frame = new Frame(list);
                scene.Record(frame, 0.5, w, h, 1024, 1000, reference);
                for (int k = 0; k < renders; k++) scene.Record(frame, 0.5, w, h, 2, (uint)k, noisy[k]);
                list.Run();
            }
            var r = reference.ToArray();
            var single = noisy[0].ToArray();
            var average = new double[r.Length];
            foreach (var t in noisy)
            {
                var v = t.ToArray();
                for (int i = 0; i < v.Length; i++) average[i] += v[i] / renders;
            }
            double Mse(IEnumerable<double> x) => x.Zip(r, (a, b) => (a - b) * (a - b)).Average();
            double mseSingle = Mse(single.Select(v => (double)v)), mseAverage = Mse(average);
            Assert.That(mseSingle, Is.GreaterThan(0), "few-sample renders are noisy");
            // Variance falls as 1/renders (16x here); demand at least 4x.
            Assert.That(mseAverage, Is.LessThan(mseSingle / 4), "averaging independent renders approaches the reference");
            double refMean = r.Average(v => (double)v), avgMean = average.Average();
            Assert.That(Math.Abs(avgMean - refMean) / refMean, Is.LessThan(MeanAgreement), "the noisy estimator is unbiased");
        }
        finally
        {
            foreach (var t in noisy) t.Dispose();
        }
    }
}
