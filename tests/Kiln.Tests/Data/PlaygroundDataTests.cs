using Kiln.Data;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class PlaygroundDataTests
{
    static List<(float X, float Y, int Label)> All(IDataset data)
    {
        var list = new List<(float, float, int)>();
        Span<float> input = stackalloc float[2], target = stackalloc float[1];
        for (int i = 0; i < data.Count; i++)
        {
            data.Read(i, input, target, new Random(0));
            Assert.That(target[0], Is.EqualTo((float)data.Label(i)), "the target holds the label");
            list.Add((input[0], input[1], data.Label(i)));
        }
        return list;
    }

    static List<(float X, float Y, int Label)> Both(PlaygroundKind kind, double noise = 0, int seed = 0, int points = 500)
    {
        var (train, test) = PlaygroundData.Create(kind, points, noise, seed);
        return All(train).Concat(All(test)).ToList();
    }

    [TestCase(PlaygroundKind.Circle), TestCase(PlaygroundKind.Xor), TestCase(PlaygroundKind.Gauss), TestCase(PlaygroundKind.Spiral)]
    public void HalfForTraining_TwoBalancedClasses_SameSeedSameData(PlaygroundKind kind)
    {
        var (train, test) = PlaygroundData.Create(kind, seed: 3);
        Assert.That((train.Count, test.Count), Is.EqualTo((250, 250)));
        Assert.That((train.InputShape, train.TargetShape, train.ClassCount), Is.EqualTo((new Shape(2), new Shape(1), 2)));
        var all = All(train).Concat(All(test)).ToList();
        int ones = all.Count(p => p.Label == 1);
        if (kind == PlaygroundKind.Xor) Assert.That(ones, Is.InRange(200, 300), "XOR's classes are the quadrants of uniform points");
        else Assert.That(ones, Is.EqualTo(250));
        Assert.That(Both(kind, seed: 3), Is.EqualTo(all));
        Assert.That(Both(kind, seed: 4), Is.Not.EqualTo(all));
        Assert.That(All(train).Count(p => p.Label == 1), Is.InRange(90, 160), "shuffled before the split");
    }

    [Test]
    public void Circle_WithoutNoise_LabelIsTheRadiusRule()
    {
        foreach (var (x, y, label) in Both(PlaygroundKind.Circle))
        {
            double r = Math.Sqrt(x * x + y * y);
            Assert.That(label, Is.EqualTo(r < 2.5 ? 1 : 0));
            Assert.That(r, label == 1 ? Is.LessThanOrEqualTo(2.5 + 1e-5) : Is.InRange(3.5 - 1e-5, 5 + 1e-5));
        }
    }

    [Test]
    public void Circle_WithNoise_SomeLabelsCrossTheRadiusRule()
    {
        int crossed = Both(PlaygroundKind.Circle, noise: 50).Count(p => (Math.Sqrt(p.X * p.X + p.Y * p.Y) < 2.5 ? 1 : 0) != p.Label);
        Assert.That(crossed, Is.InRange(25, 250), "noise 50 moves the labelled point by up to 2.5 in x and y");
    }

    [Test]
    public void Xor_WithoutNoise_LabelIsTheQuadrant_PaddedAwayFromTheAxes()
    {
        foreach (var (x, y, label) in Both(PlaygroundKind.Xor))
        {
            Assert.That(label, Is.EqualTo(x * y >= 0 ? 1 : 0));
            Assert.That(Math.Min(Math.Abs(x), Math.Abs(y)), Is.GreaterThanOrEqualTo(0.3f - 1e-6f));
            Assert.That(Math.Max(Math.Abs(x), Math.Abs(y)), Is.LessThanOrEqualTo(5.3f + 1e-5f));
        }
    }

    [TestCase(0, 0.5), TestCase(50, 4.0)]
    public void Gauss_CloudsAtPlusAndMinusTwo_WithThePlaygroundVariance(double noise, double variance)
    {
        var all = Both(PlaygroundKind.Gauss, noise, points: 4000);
        foreach (var (label, centre) in new[] { (1, 2.0), (0, -2.0) })
        {
            var cloud = all.Where(p => p.Label == label).ToList();
            // 2000 samples: the mean's standard error is sqrt(variance / 2000) <= 0.045, the variance's
            // variance * sqrt(2 / 1999) <= 0.13; both tolerances are over 4 standard errors.
            foreach (var axis in new Func<(float X, float Y, int), double>[] { p => p.X, p => p.Y })
            {
                double mean = cloud.Average(axis), var = cloud.Sum(p => (axis(p) - mean) * (axis(p) - mean)) / (cloud.Count - 1);
                Assert.That(mean, Is.EqualTo(centre).Within(0.2));
                Assert.That(var, Is.EqualTo(variance).Within(0.12 * variance));
            }
        }
    }

    [Test]
    public void Spiral_WithoutNoise_PointsLieOnTwoArmsHalfATurnApart()
    {
        var all = Both(PlaygroundKind.Spiral);
        foreach (var (x, y, label) in all)
        {
            double r = Math.Sqrt(x * x + y * y), t = 1.75 * r / 5 * 2 * Math.PI + (label == 1 ? 0 : Math.PI);
            Assert.That(x, Is.EqualTo(r * Math.Sin(t)).Within(1e-4));
            Assert.That(y, Is.EqualTo(r * Math.Cos(t)).Within(1e-4));
            Assert.That(r, Is.LessThan(5));
        }
        var radii = all.Where(p => p.Label == 1).Select(p => Math.Round(Math.Sqrt(p.X * p.X + p.Y * p.Y) / 5 * 250)).OrderBy(v => v);
        Assert.That(radii, Is.EqualTo(Enumerable.Range(0, 250).Select(i => (double)i)), "arm point i at radius i / n * 5");
    }

    [Test]
    public void BadArguments_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PlaygroundData.Create(PlaygroundKind.Circle, noise: 51));
        Assert.Throws<ArgumentOutOfRangeException>(() => PlaygroundData.Create(PlaygroundKind.Circle, noise: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => PlaygroundData.Create(PlaygroundKind.Circle, points: 1));
        var (train, _) = PlaygroundData.Create(PlaygroundKind.Xor);
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Read(250, new float[2], new float[1], new Random()));
        Assert.Throws<ArgumentException>(() => train.Read(0, new float[1], new float[1], new Random()));
    }
}
