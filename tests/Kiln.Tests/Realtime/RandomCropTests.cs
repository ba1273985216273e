using Kiln.Realtime;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>shaders/realtime/random_crop.comp: the online trainer's crops, cut on the GPU at hashed positions.</summary>
public sealed class RandomCropTests : GpuTest
{
    // A small odd-sized frame, so every position range and the edges are exercised.
    const int W = 37, H = 23, C = 5;

    /// <summary>Relative agreement of the GPU's log with the double one (a few float ulps).</summary>
    const double LogAgreement = 1e-6;

    static float[] RandomImage(int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, C * W * H).Select(_ => (float)(rng.NextDouble() * 4 - 1)).ToArray();
    }

    /// <summary>Each pixel holds its own index in the image, so a crop says where it was taken from.</summary>
    static float[] IndexImage() => Enumerable.Range(0, C * W * H).Select(i => (float)i).ToArray();

    float[] Crop(float[] image, int side, int batch, uint seed, uint key, bool logTransfer = false)
    {
        using var source = Tensor.From(Context, new Shape(1, C, H, W), image, "crop test source");
        using var crops = new Tensor(Context, new Shape(batch, C, side, side), name: "crop test crops");
        using (var list = Context.CreateCommandList("crop test"))
        {
            RandomCrops.Record(new Frame(list), source, W, H, crops, side, batch, seed, key, logTransfer);
            list.Run();
        }
        return crops.ToArray();
    }

    static double[] CpuCrop(float[] image, int side, int batch, uint seed, uint key, Func<float, double> f) =>
        CpuCrops(image, C, W, H, side, batch, seed, key, f);

    /// <summary>
    /// The naive crops [B, C, S, S] of a [C, H, W] image: element (b, c, y, x) is f(image (c, y0 + y, x0 + x)) at crop
    /// b's position for <paramref name="key"/>.
    /// </summary>
    internal static double[] CpuCrops(float[] image, int channels, int width, int height, int side, int batch, uint seed, uint key, Func<float, double> f)
    {
        var result = new double[batch * channels * side * side];
        for (int b = 0; b < batch; b++)
        {
            var (x0, y0) = RandomCrops.Position(seed, key, b, width, height, side);
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                        result[((b * channels + c) * side + y) * side + x] = f(image[(c * height + y0 + y) * width + x0 + x]);
        }
        return result;
    }

    [TestCase(16, 3)]
    [TestCase(12, 4)] // a side that is not a multiple of the 8 x 8 tile: the last tiles are partly outside the batch
    [TestCase(23, 1)] // as tall as the frame: one row of positions
    public void Crops_AreExactCopiesOfTheImage_AtTheHostsPositions(int side, int batch)
    {
        var image = RandomImage(side);
        var gpu = Crop(image, side, batch, seed: 7, key: 42);
        Assert.That(gpu, Is.EqualTo(CpuCrop(image, side, batch, 7, 42, v => v).Select(v => (float)v)), "a crop is a copy: bit for bit");
    }

    [Test]
    public void LogTransferCrops_MatchLogTransferOfTheImage()
    {
        var image = RandomImage(3);
        var gpu = Crop(image, 8, 3, seed: 1, key: 5, logTransfer: true);
        var cpu = CpuCrop(image, 8, 3, 1, 5, v => Math.Log(1 + Math.Max(v, 0.0)));
        Assert.That(RelativeError.MaxRelative(gpu, cpu), Is.LessThan(LogAgreement));
        Assert.That(gpu.Count(v => v == 0), Is.GreaterThan(0).And.LessThan(gpu.Length), "negative values clamp to 0, the others don't");
    }

    /// <summary>The GPU's crop positions, read from an image whose pixels hold their own index.</summary>
    List<(int X, int Y)> GpuPositions(int side, int batch, uint seed, uint key)
    {
        var crops = Crop(IndexImage(), side, batch, seed, key);
        var positions = new List<(int, int)>();
        for (int b = 0; b < batch; b++)
        {
            int index = (int)crops[b * C * side * side]; // channel 0, pixel (0, 0) of crop b
            positions.Add((index % W, index / W));
        }
        return positions;
    }

    [Test]
    public void Positions_LieInsideTheFrame_ChangeWithTheKey_AndRepeatForTheSameSeed()
    {
        const int side = 16, batch = 4;
        var frames = Enumerable.Range(0, 6).Select(f => GpuPositions(side, batch, seed: 3, key: RandomCrops.Key(f, 0))).ToList();
        foreach (var (x, y) in frames.SelectMany(p => p))
            Assert.That(x >= 0 && y >= 0 && x + side <= W && y + side <= H, Is.True, $"crop at ({x}, {y}) inside {W}x{H}");
        for (int f = 1; f < frames.Count; f++)
            Assert.That(frames[f], Is.Not.EqualTo(frames[f - 1]), $"frame {f} crops elsewhere than frame {f - 1}");
        Assert.That(frames.SelectMany(p => p).Distinct().Count(), Is.GreaterThan(frames.Count * batch / 2), "positions spread over the frame");
        Assert.That(GpuPositions(side, batch, 3, RandomCrops.Key(2, 0)), Is.EqualTo(frames[2]), "same seed and frame: same crops");
        Assert.That(GpuPositions(side, batch, 4, RandomCrops.Key(2, 0)), Is.Not.EqualTo(frames[2]), "another seed: other crops");
        Assert.That(GpuPositions(side, batch, 3, RandomCrops.Key(2, 1)), Is.Not.EqualTo(frames[2]), "the frame's next step: other crops");
    }

    [Test]
    public void HostPositions_CoverEveryPlace_AndStayInside()
    {
        const int side = 16;
        var seen = new HashSet<(int, int)>();
        for (uint key = 0; key < 2000; key++)
        {
            var (x, y) = RandomCrops.Position(9, key, (int)(key % 5), W, H, side);
            Assert.That(x is >= 0 and <= W - side && y is >= 0 and <= H - side, Is.True, $"({x}, {y})");
            seen.Add((x, y));
        }
        Assert.That(seen, Has.Count.EqualTo((W - side + 1) * (H - side + 1)), "every corner position is reachable");
    }

    [Test]
    public void BadShapes_AreRejectedBeforeRecording()
    {
        using var source = new Tensor(Context, new Shape(1, C, H, W), name: "crop test source");
        using var crops = new Tensor(Context, new Shape(2, C, 8, 8), name: "crop test crops");
        using var list = Context.CreateCommandList("crop test");
        var frame = new Frame(list);
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomCrops.Record(frame, source, W, H, crops, 24, 2, 0, 0, false), "taller than the frame");
        Assert.Throws<ArgumentException>(() => RandomCrops.Record(frame, source, W, H, crops, 8, 3, 0, 0, false), "batch does not fit the destination");
        Assert.Throws<ArgumentException>(() => RandomCrops.Record(frame, source, W + 1, H, crops, 8, 2, 0, 0, false), "source is not whole planes");
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomCrops.Key(0, 64), "a 65th step of a frame");
    }
}
