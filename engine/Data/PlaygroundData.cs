namespace Kiln.Data;

/// <summary>
/// The TensorFlow Playground's classification generators (tensorflow/playground src/dataset.ts), formula for
/// formula: the same point distributions, the same noise rule (the Playground's 0..50 slider divided by 100)
/// and the same label rules, with <see cref="System.Random"/> from a seed in place of Math.random. As in the
/// Playground the points are shuffled (Fisher-Yates from the end) and split at floor(points / 2): the first half
/// for training, the rest for test. Input [x, y]; target [1] holding the label, 1 for the Playground's positive
/// class and 0 for its negative one.
/// </summary>
public static class PlaygroundData
{
    /// <summary>Largest noise the Playground's slider offers.</summary>
    public const double MaxNoise = 50;

    /// <summary>
    /// Generates <paramref name="points"/> examples of <paramref name="kind"/> with the Playground's noise level
    /// <paramref name="noise"/> (0..50) and splits them in half; the same <paramref name="seed"/> gives the same points.
    /// </summary>
    public static (IDataset Train, IDataset Test) Create(PlaygroundKind kind, int points = 500, double noise = 0, int seed = 0)
    {
        var all = Generate(kind, points, noise, seed);
        Shuffle(all, new Random(unchecked(seed * 31 + 17)));
        int split = all.Count * 50 / 100;
        return (ToDataset(all.GetRange(0, split)), ToDataset(all.GetRange(split, all.Count - split)));
    }

    /// <summary>The points in the Playground's generation order (before shuffling), label 1 or 0.</summary>
    public static List<(double X, double Y, int Label)> Generate(PlaygroundKind kind, int points, double noise, int seed)
    {
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "The Playground generators need at least 2 points.");
        if (!(noise >= 0 && noise <= MaxNoise)) throw new ArgumentOutOfRangeException(nameof(noise), noise, $"Noise is the Playground's 0..{MaxNoise}.");
        var rng = new Random(seed);
        double n = noise / 100;
        return kind switch
        {
            PlaygroundKind.Circle => Circle(points, n, rng),
            PlaygroundKind.Xor => Xor(points, n, rng),
            PlaygroundKind.Gauss => TwoGauss(points, n, rng),
            PlaygroundKind.Spiral => Spiral(points, n, rng),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown Playground data set."),
        };
    }

    static List<(double, double, int)> Circle(int count, double noise, Random rng)
    {
        var points = new List<(double, double, int)>(count);
        const double radius = 5;
        int Label(double x, double y) => Math.Sqrt(x * x + y * y) < radius * 0.5 ? 1 : 0;
        void Ring(double rMin, double rMax)
        {
            for (int i = 0; i < count / 2.0; i++)
            {
                double r = Uniform(rng, rMin, rMax), angle = Uniform(rng, 0, 2 * Math.PI);
                double x = r * Math.Sin(angle), y = r * Math.Cos(angle);
                double noiseX = Uniform(rng, -radius, radius) * noise, noiseY = Uniform(rng, -radius, radius) * noise;
                points.Add((x, y, Label(x + noiseX, y + noiseY)));
            }
        }
        Ring(0, radius * 0.5);
        Ring(radius * 0.7, radius);
        return points;
    }

    static List<(double, double, int)> Xor(int count, double noise, Random rng)
    {
        var points = new List<(double, double, int)>(count);
        const double padding = 0.3;
        for (int i = 0; i < count; i++)
        {
            double x = Uniform(rng, -5, 5);
            x += x > 0 ? padding : -padding;
            double y = Uniform(rng, -5, 5);
            y += y > 0 ? padding : -padding;
            double noiseX = Uniform(rng, -5, 5) * noise, noiseY = Uniform(rng, -5, 5) * noise;
            points.Add((x, y, (x + noiseX) * (y + noiseY) >= 0 ? 1 : 0));
        }
        return points;
    }

    static List<(double, double, int)> TwoGauss(int count, double noise, Random rng)
    {
        var points = new List<(double, double, int)>(count);
        double variance = 0.5 + noise / 0.5 * (4 - 0.5); // d3 linear scale [0, .5] -> [0.5, 4]
        void Cloud(double cx, double cy, int label)
        {
            for (int i = 0; i < count / 2.0; i++)
                points.Add((NormalRandom(rng, cx, variance), NormalRandom(rng, cy, variance), label));
        }
        Cloud(2, 2, 1);
        Cloud(-2, -2, 0);
        return points;
    }

    static List<(double, double, int)> Spiral(int count, double noise, Random rng)
    {
        var points = new List<(double, double, int)>(count);
        double n = count / 2.0;
        void Arm(double deltaT, int label)
        {
            for (int i = 0; i < n; i++)
            {
                double r = i / n * 5, t = 1.75 * i / n * 2 * Math.PI + deltaT;
                double x = r * Math.Sin(t) + Uniform(rng, -1, 1) * noise;
                double y = r * Math.Cos(t) + Uniform(rng, -1, 1) * noise;
                points.Add((x, y, label));
            }
        }
        Arm(0, 1);
        Arm(Math.PI, 0);
        return points;
    }

    static double Uniform(Random rng, double a, double b) => rng.NextDouble() * (b - a) + a;

    /// <summary>The Playground's normalRandom: Marsaglia's polar method, scaled by sqrt(variance).</summary>
    static double NormalRandom(Random rng, double mean, double variance)
    {
        double v1, v2, s;
        do
        {
            v1 = 2 * rng.NextDouble() - 1;
            v2 = 2 * rng.NextDouble() - 1;
            s = v1 * v1 + v2 * v2;
        } while (s > 1 || s == 0);
        return mean + Math.Sqrt(variance) * Math.Sqrt(-2 * Math.Log(s) / s) * v1;
    }

    static void Shuffle<T>(List<T> list, Random rng)
    {
        for (int counter = list.Count; counter > 0;)
        {
            int index = rng.Next(counter);
            counter--;
            (list[counter], list[index]) = (list[index], list[counter]);
        }
    }

    static ArrayDataset ToDataset(List<(double X, double Y, int Label)> points)
    {
        var inputs = new float[points.Count * 2];
        var targets = new float[points.Count];
        var labels = new int[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            inputs[2 * i] = (float)points[i].X;
            inputs[2 * i + 1] = (float)points[i].Y;
            targets[i] = labels[i] = points[i].Label;
        }
        return new ArrayDataset(inputs, new Shape(2), targets, new Shape(1), labels, 2);
    }
}
