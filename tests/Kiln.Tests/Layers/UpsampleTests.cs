using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class UpsampleTests : GpuTest
{
    /// <summary>Per-axis interpolation weights: (source index, weight) pairs for each output index.</summary>
    static (int, double)[][] Axis(UpsampleMode mode, int size, int scale)
    {
        var res = new (int, double)[size * scale][];
        for (int o = 0; o < size * scale; o++)
        {
            if (mode == UpsampleMode.Nearest) { res[o] = new[] { (o / scale, 1.0) }; continue; }
            double src = mode == UpsampleMode.BilinearAlignCorners
                ? (size * scale > 1 ? o * (size - 1.0) / (size * scale - 1.0) : 0)
                : Math.Max((o + 0.5) / scale - 0.5, 0);
            int i0 = (int)src, i1 = Math.Min(i0 + 1, size - 1);
            double l = src - i0;
            res[o] = new[] { (i0, 1 - l), (i1, l) };
        }
        return res;
    }

    static (double[] Y, double[] Gx) Reference(UpsampleMode mode, float[] x, float[] gy, int planes, int h, int w, int s)
    {
        var ay = Axis(mode, h, s);
        var ax = Axis(mode, w, s);
        int oh = h * s, ow = w * s;
        var y = new double[planes * oh * ow];
        var gx = new double[x.Length];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int o = (p * oh + i) * ow + j;
                    foreach (var (si, wi) in ay[i])
                        foreach (var (sj, wj) in ax[j])
                        {
                            int idx = (p * h + si) * w + sj;
                            y[o] += wi * wj * x[idx];
                            gx[idx] += wi * wj * gy[o];
                        }
                }
        return (y, gx);
    }

    [TestCase(UpsampleMode.Nearest, 2, 3, 4, 5, 2)]
    [TestCase(UpsampleMode.Nearest, 1, 2, 3, 3, 3)]
    [TestCase(UpsampleMode.Bilinear, 2, 3, 4, 5, 2)]
    [TestCase(UpsampleMode.Bilinear, 1, 2, 3, 4, 3)]
    [TestCase(UpsampleMode.Bilinear, 1, 1, 1, 6, 4)]
    [TestCase(UpsampleMode.Bilinear, 1, 2, 4, 4, 1)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 2, 3, 4, 5, 2)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 2, 2, 3, 3)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 1, 1, 6, 4)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 1, 1, 1, 3)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 2, 7, 9, 5)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 2, 4, 4, 1)]
    // Widths a multiple of 4 (input, and so output): 4 elements per invocation forward and backward (UpsampleKernels.Vector).
    [TestCase(UpsampleMode.Nearest, 2, 3, 4, 8, 2)]
    [TestCase(UpsampleMode.Nearest, 1, 2, 3, 4, 3)]
    [TestCase(UpsampleMode.Bilinear, 1, 2, 5, 8, 2)]
    [TestCase(UpsampleMode.BilinearAlignCorners, 1, 2, 3, 8, 3)]
    public void ForwardAndBackwardMatchReference(UpsampleMode mode, int n, int c, int h, int w, int scale)
    {
        int r = 5 + h * 13 + scale;
        var x = FixtureLayer.Uniform(n * c * h * w, r++);
        var gy = FixtureLayer.Uniform(n * c * h * w * scale * scale, r++);
        var res = LayerHarness.Run(Context, new Upsample(scale, mode), new[] { new Shape(n, c, h, w) }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, c, h * scale, w * scale)));
        var (y, gx) = Reference(mode, x, gy, n * c, h, w, scale);
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "upsample" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var mode = f.Str("mode") switch
        {
            "nearest" => UpsampleMode.Nearest,
            "bilinear" => f.Bool("align_corners", false) ? UpsampleMode.BilinearAlignCorners : UpsampleMode.Bilinear,
            var m => throw new InvalidDataException($"{f.Name}: mode {m}"),
        };
        var res = FixtureLayer.Run(Context, new Upsample(f.Int("scale_factor"), mode), f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    /// <summary>
    /// Each invocation takes 4 elements where its row width is a multiple of 4 (the output's forward, the input's
    /// backward), one otherwise; 256 invocations a workgroup. [2,4,8,w] to [2,4,16,2w], nearest.
    /// </summary>
    [TestCase(64, "16x1x1", "4x1x1")]   // 16384 outputs / 4, 4096 inputs / 4
    [TestCase(62, "16x1x1", "16x1x1")]  // 15872 outputs / 4 (124 wide); 3968 inputs one by one (62 wide)
    [TestCase(61, "61x1x1", "16x1x1")]  // 15616 outputs (122 wide) and 3904 inputs one by one
    public void FourElementsPerInvocation_WhereTheRowWidthIsAMultipleOf4(int w, string forward, string backward)
    {
        var shape = new Shape(2, 4, 8, w);
        var res = LayerHarness.Run(Context, new Upsample(2), new[] { shape }, new[] { new float[shape.Elements] }, null, new float[shape.Elements * 4]);
        Assert.That(res.GroupsOf("layer.fwd"), Is.EqualTo(forward), "forward");
        Assert.That(res.GroupsOf("layer.bwd"), Is.EqualTo(backward), "backward");
    }

    [Test]
    public void NonImageInput_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Upsample(2), new[] { new Shape(2, 6) }, new[] { new float[12] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,6]"));
    }

    [Test]
    public void BadArguments_Throw() => Assert.Throws<ArgumentException>(() => new Upsample(0));
}
