using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefUpsample"/> is torch.nn.functional.interpolate, nearest and bilinear (align_corners False and True).</summary>
public sealed class UpsampleReferenceTests
{
    static (int N, int C, int H, int W, int Scale, string Mode) Dims(Fixture f)
    {
        var x = f["x"].Shape;
        var mode = f.Str("mode") == "bilinear" && f.Bool("align_corners", false) ? "bilinear_align_corners" : f.Str("mode");
        return (x[0], x[1], x[2], x[3], f.Int("scale_factor"), mode);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "upsample" })]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        var (n, c, h, w, scale, mode) = Dims(f);
        Assert.That(f["y"].Shape, Is.EqualTo(new[] { n, c, h * scale, w * scale }), "output shape");
        ReferenceAssert.MatchesFixture(RefUpsample.Forward(f["x"].Data, n, c, h, w, scale, mode), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "upsample" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (n, c, h, w, scale, mode) = Dims(f);
        ReferenceAssert.MatchesFixture(RefUpsample.Backward(f["grad_y"].Data, n, c, h, w, scale, mode), f, "grad_x");
    }

    [TestCase("nearest", 2, 2, 3, 4, 2)]
    [TestCase("nearest", 1, 1, 2, 3, 3)]
    [TestCase("bilinear", 1, 3, 4, 3, 2)]
    [TestCase("bilinear", 1, 1, 3, 4, 3)]
    [TestCase("bilinear", 2, 1, 1, 2, 4)]
    [TestCase("bilinear_align_corners", 1, 2, 3, 4, 2)]
    [TestCase("bilinear_align_corners", 1, 1, 2, 3, 3)]
    [TestCase("bilinear_align_corners", 1, 1, 1, 3, 2)]
    public void BackwardMatchesFiniteDifferences(string mode, int n, int c, int h, int w, int scale)
    {
        var x = RandomData.Uniform(n * c * h * w, 1);
        ReferenceAssert.MatchesFiniteDifferences("x", v => RefUpsample.Forward(v, n, c, h, w, scale, mode), x,
            g => RefUpsample.Backward(g, n, c, h, w, scale, mode));
    }

    [Test]
    public void BilinearClampsTheSourceIndexAtZeroAndRepeatsTheLastPixel()
    {
        // Row [0, 1] scaled by 2: source columns -0.25 → 0, 0.25, 0.75, 1.25 (right neighbour clamped to column 1).
        Assert.That(RefUpsample.Forward(new double[] { 0, 1 }, 1, 1, 1, 2, 2, "bilinear"),
            Is.EqualTo(new double[] { 0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1 }));
    }

    [Test]
    public void AlignCornersKeepsTheCornerPixels()
    {
        // Row [0, 3] scaled by 2: source columns 0, 1/3, 2/3, 1.
        Assert.That(RefUpsample.Forward(new double[] { 0, 3 }, 1, 1, 1, 2, 2, "bilinear_align_corners"),
            Is.EqualTo(new double[] { 0, 1, 2, 3, 0, 1, 2, 3 }).Within(1e-12));
    }

    [Test]
    public void NearestRepeatsEachPixelScaleTimesEachWay()
    {
        Assert.That(RefUpsample.Forward(new double[] { 1, 2 }, 1, 1, 1, 2, 2, "nearest"),
            Is.EqualTo(new double[] { 1, 1, 2, 2, 1, 1, 2, 2 }));
    }
}
