using Kiln.Data;
using NUnit.Framework;

namespace Kiln.Tests.Data;

public sealed class CorruptionsTests
{
    static (double Mean, double Variance) Moments(IEnumerable<double> values)
    {
        var list = values.ToList();
        double mean = list.Average();
        return (mean, list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
    }

    [Test]
    public void GaussianNoise_HasTheRequestedMeanAndVariance()
    {
        var x = Enumerable.Repeat(0.5f, 100_000).ToArray();
        Corruptions.AddGaussianNoise(x, 0.2, new Random(1));
        var (mean, variance) = Moments(x.Select(v => (double)v));
        // Standard errors over 1e5 samples: mean 0.2 / sqrt(1e5) = 6.3e-4, variance 0.04 * sqrt(2 / 1e5) = 1.8e-4; tolerances ~4 of them.
        Assert.That(mean, Is.EqualTo(0.5).Within(0.0025));
        Assert.That(variance, Is.EqualTo(0.04).Within(0.0008));
        var clipped = Enumerable.Repeat(0.9f, 1000).ToArray();
        Corruptions.AddGaussianNoise(clipped, 0.5, new Random(2), clip: true);
        Assert.That(clipped, Is.All.InRange(0f, 1f));
        Assert.That(clipped.Count(v => v == 1f), Is.InRange(300, 700), "about 42% of N(0.9, 0.25) lies above 1");
    }

    [TestCase(3.0), TestCase(29.5), TestCase(100.0), TestCase(2500.0)]
    public void Poisson_MeanAndVarianceAreLambda_AndTheModeHasItsProbability(double lambda)
    {
        var random = new Random(7);
        const int n = 200_000;
        var samples = new long[n];
        for (int i = 0; i < n; i++) samples[i] = Corruptions.Poisson(random, lambda);
        var (mean, variance) = Moments(samples.Select(v => (double)v));
        // Standard errors: mean sqrt(lambda / n), variance sqrt((lambda + 2 lambda^2) / n); tolerances 5 of them.
        Assert.That(mean, Is.EqualTo(lambda).Within(5 * Math.Sqrt(lambda / n)));
        Assert.That(variance, Is.EqualTo(lambda).Within(5 * Math.Sqrt((lambda + 2 * lambda * lambda) / n)));
        long mode = (long)Math.Floor(lambda);
        double p = Math.Exp(-lambda + mode * Math.Log(lambda) - Corruptions.LogGamma(mode + 1));
        double observed = samples.Count(k => k == mode) / (double)n;
        Assert.That(observed, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / n)), $"P(k = {mode})");
    }

    [Test]
    public void LogGamma_MatchesFactorials()
    {
        Assert.That(Corruptions.LogGamma(1), Is.EqualTo(0).Within(1e-12));
        Assert.That(Corruptions.LogGamma(5), Is.EqualTo(Math.Log(24)).Within(1e-12));
        Assert.That(Corruptions.LogGamma(101), Is.EqualTo(363.73937555556347).Within(1e-9));
        Assert.That(Corruptions.LogGamma(0.5), Is.EqualTo(0.5 * Math.Log(Math.PI)).Within(1e-12));
    }

    [Test]
    public void PoissonNoise_IsShotNoiseOfThePhotonCount()
    {
        var x = Enumerable.Repeat(0.4f, 100_000).ToArray();
        Corruptions.AddPoissonNoise(x, 50, new Random(3));
        var (mean, variance) = Moments(x.Select(v => (double)v));
        // mean 0.4 (se 2.8e-4), variance 0.4 / 50 = 0.008 (se ~4e-5)
        Assert.That(mean, Is.EqualTo(0.4).Within(0.0015));
        Assert.That(variance, Is.EqualTo(0.008).Within(0.0003));
        Assert.That(x.All(v => Math.Abs(v * 50 - Math.Round(v * 50)) < 1e-4), Is.True, "counts / photons");
    }

    [Test]
    public void BrushStrokes_AreBinary_CoverASaneFraction_AndFollowTheSeed()
    {
        const int h = 64, w = 64;
        var mask = new float[h * w];
        var fractions = new List<double>();
        var random = new Random(11);
        for (int i = 0; i < 500; i++)
        {
            mask.AsSpan().Fill(0.5f);
            Corruptions.BrushStrokes(mask, h, w, random);
            Assert.That(mask, Is.All.EqualTo(0f).Or.EqualTo(1f));
            fractions.Add(mask.Average());
        }
        Assert.That(fractions.Min(), Is.GreaterThan(0.005), "every mask has a stroke");
        Assert.That(fractions.Max(), Is.LessThan(0.75), "no mask erases nearly everything");
        TestContext.Out.WriteLine($"stroke mask coverage: min {fractions.Min():F3} mean {fractions.Average():F3} max {fractions.Max():F3}");
        Assert.That(fractions.Average(), Is.InRange(0.05, 0.35));
        float[] a = new float[h * w], b = new float[h * w];
        Corruptions.BrushStrokes(a, h, w, new Random(4));
        Corruptions.BrushStrokes(b, h, w, new Random(4));
        Assert.That(a, Is.EqualTo(b));
    }

    [Test]
    public void Boxes_AreRectanglesOfTheStatedSize()
    {
        const int h = 40, w = 80;
        var mask = new float[h * w];
        var random = new Random(5);
        var fractions = new List<double>();
        for (int i = 0; i < 500; i++)
        {
            Corruptions.Boxes(mask, h, w, random, maxBoxes: 1);
            int rows = Enumerable.Range(0, h).Count(y => mask.AsSpan(y * w, w).Contains(1f));
            int cols = Enumerable.Range(0, w).Count(x => Enumerable.Range(0, h).Any(y => mask[y * w + x] == 1f));
            Assert.That(mask.Sum(), Is.EqualTo(rows * cols), "one box fills its bounding rectangle");
            Assert.That(rows, Is.InRange(6, 18));
            Assert.That(cols, Is.InRange(12, 36));
            fractions.Add(mask.Average());
        }
        // side fractions uniform in [0.15, 0.45]: mean area fraction 0.3^2 = 0.09
        Assert.That(fractions.Average(), Is.EqualTo(0.09).Within(0.01));
    }

    [Test]
    public void BadArguments_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Corruptions.AddGaussianNoise(new float[1], -1, new Random()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Corruptions.AddPoissonNoise(new float[1], 0, new Random()));
        Assert.Throws<ArgumentException>(() => Corruptions.BrushStrokes(new float[10], 4, 4, new Random()));
        Assert.Throws<ArgumentException>(() => Corruptions.Boxes(new float[16], 4, 4, new Random(), minFraction: 0.5, maxFraction: 0.4));
    }
}
