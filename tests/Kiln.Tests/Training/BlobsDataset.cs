using Kiln.Data;

namespace Kiln.Tests.Training;

/// <summary>
/// A tiny in-test data set for the trainer: two Gaussian blobs in 2-D (class 0 around (-1, -1), class 1 around
/// (1, 1)), target the class as 0/1; optionally input noise drawn from the reader's Random, to check that
/// corruption follows the seed.
/// </summary>
sealed class BlobsDataset : IDataset
{
    readonly float[] points;
    readonly int[] labels;
    readonly float noise;

    public BlobsDataset(int count, int seed, float noise = 0, float spread = 0.6f)
    {
        var r = new Random(seed);
        points = new float[2 * count];
        labels = new int[count];
        this.noise = noise;
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            float c = labels[i] == 0 ? -1 : 1;
            points[2 * i] = c + spread * Gaussian(r);
            points[2 * i + 1] = c + spread * Gaussian(r);
        }
    }

    static float Gaussian(Random r) => (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()));

    public int Count => labels.Length;
    public Shape InputShape => new(2);
    public Shape TargetShape => new(1);
    public int ClassCount => 2;

    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        input[0] = points[2 * index];
        input[1] = points[2 * index + 1];
        if (noise > 0)
        {
            input[0] += noise * Gaussian(random);
            input[1] += noise * Gaussian(random);
        }
        target[0] = labels[index];
    }

    public int Label(int index) => labels[index];
}
