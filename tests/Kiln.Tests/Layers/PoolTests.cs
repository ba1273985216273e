using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class PoolTests : GpuTest
{
    /// <summary>Naive pooling: forward, and the gradient (max: to the first maximum of each window).</summary>
    static (double[] Y, double[] Gx) Reference(bool max, float[] x, float[] gy, int n, int c, int h, int w, (int H, int W) k, (int H, int W) s)
    {
        int oh = (h - k.H) / s.H + 1, ow = (w - k.W) / s.W + 1;
        var y = new double[n * c * oh * ow];
        var gx = new double[x.Length];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int o = (p * oh + i) * ow + j;
                    double best = double.NegativeInfinity, sum = 0;
                    int arg = -1;
                    for (int a = 0; a < k.H; a++)
                        for (int b = 0; b < k.W; b++)
                        {
                            int idx = (p * h + i * s.H + a) * w + j * s.W + b;
                            sum += x[idx];
                            if (arg < 0 || x[idx] > best) { best = x[idx]; arg = idx; }
                        }
                    y[o] = max ? best : sum / (k.H * k.W);
                    if (max) gx[arg] += gy[o];
                    else
                        for (int a = 0; a < k.H; a++)
                            for (int b = 0; b < k.W; b++) gx[(p * h + i * s.H + a) * w + j * s.W + b] += gy[o] / (k.H * k.W);
                }
        return (y, gx);
    }

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var max in new[] { true, false })
        {
            string name = max ? "maxpool2d" : "avgpool2d";
            yield return new TestCaseData(max, 2, 3, 8, 6, 2, 2).SetArgDisplayNames(name, "k2s2");
            yield return new TestCaseData(max, 1, 2, 9, 9, 3, 3).SetArgDisplayNames(name, "k3s3");
            yield return new TestCaseData(max, 2, 2, 7, 8, 3, 2).SetArgDisplayNames(name, "k3s2_overlapping_floor");
            yield return new TestCaseData(max, 1, 3, 5, 6, 2, 1).SetArgDisplayNames(name, "k2s1");
            // Widths where the kernels take 4 outputs and 4 windows per invocation (Pool2dKernels.Vector).
            yield return new TestCaseData(max, 2, 3, 8, 16, 2, 2).SetArgDisplayNames(name, "k2s2_vector");
            yield return new TestCaseData(max, 1, 2, 6, 12, 3, 3).SetArgDisplayNames(name, "k3s3_vector");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchReference(bool max, int n, int c, int h, int w, int k, int s) =>
        MatchesReference(max, n, c, h, w, (k, k), (s, s));

    /// <summary>
    /// Windows of other heights than widths. The kernels' 4-wide forms need windows side by side along a row (width ==
    /// stride), the backward's also windows that tile x (height == stride): 1x2 and 2x4 take both, 3x2 with stride 1x2
    /// the forward only.
    /// </summary>
    [TestCase(true, 1, 2, 3, 8, 1, 2, 1, 2)]
    [TestCase(false, 1, 2, 3, 8, 1, 2, 1, 2)]
    [TestCase(true, 2, 1, 4, 16, 2, 4, 2, 4)]
    [TestCase(false, 2, 1, 4, 16, 2, 4, 2, 4)]
    [TestCase(true, 1, 2, 7, 8, 3, 2, 1, 2)]
    [TestCase(false, 1, 2, 7, 8, 3, 2, 1, 2)]
    public void RectangularWindows_MatchReference(bool max, int n, int c, int h, int w, int kh, int kw, int sh, int sw) =>
        MatchesReference(max, n, c, h, w, (kh, kw), (sh, sw));

    void MatchesReference(bool max, int n, int c, int h, int w, (int H, int W) k, (int H, int W) s)
    {
        int r = 99 + h * 7 + k.H * 3 + k.W;
        var x = FixtureLayer.Uniform(n * c * h * w, r++);
        if (max) for (int i = 0; i < x.Length; i += 5) x[i] = x[Math.Max(0, i - 1)]; // ties: the first maximum gets the gradient
        Layer layer = max ? new MaxPool2d(k, s) : new AvgPool2d(k, s);
        int oh = (h - k.H) / s.H + 1, ow = (w - k.W) / s.W + 1;
        var gy = FixtureLayer.Uniform(n * c * oh * ow, r++);
        var res = LayerHarness.Run(Context, layer, new[] { new Shape(n, c, h, w) }, new[] { x }, null, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, c, oh, ow)));
        var (y, gx) = Reference(max, x, gy, n, c, h, w, k, s);
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    static IEnumerable<TestCaseData> PyTorchCases() => new[] { "max_pool2d", "avg_pool2d" }.SelectMany(Fixture.All);

    /// <summary>
    /// Each PyTorch pooling fixture. Where the windows don't tile x exactly (max_pool2d_2x2: W = 5 with a 2x2 window,
    /// stride 2) PyTorch drops the last column but Kiln's shape rule rejects the input by design (see
    /// OddSize_FailsAtCompileTimeNamingTheLayer); then x is cropped to the rows and columns the windows cover, which
    /// gives PyTorch's y, and the dropped part of PyTorch's grad_x must be zero.
    /// </summary>
    [TestCaseSource(nameof(PyTorchCases))]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var spec = FixtureSpecs.Pool2d(f);
        bool max = f.Op == "max_pool2d";
        Layer layer = max ? new MaxPool2d((spec.KH, spec.KW), (spec.SH, spec.SW)) : new AvgPool2d((spec.KH, spec.KW), (spec.SH, spec.SW));
        int h = (spec.OH - 1) * spec.SH + spec.KH, w = (spec.OW - 1) * spec.SW + spec.KW;
        var full = new Shape(spec.N, spec.C, spec.H, spec.W);
        var cropped = new Shape(spec.N, spec.C, h, w);
        if (cropped != full && spec.KH == spec.SH && spec.KW == spec.SW)
            Assert.Throws<GraphException>(() => layer.OutputShape(new[] { full }), "Kiln rejects a non-tiling input");

        int planes = spec.N * spec.C;
        var x = f["x"].Floats;
        var gxFull = f["grad_x"].Data;
        var xc = new float[cropped.Elements];
        var gxc = new double[cropped.Elements];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < spec.H; i++)
                for (int j = 0; j < spec.W; j++)
                {
                    int src = (p * spec.H + i) * spec.W + j;
                    if (i < h && j < w)
                    {
                        xc[(p * h + i) * w + j] = x[src];
                        gxc[(p * h + i) * w + j] = gxFull[src];
                    }
                    else Assert.That(gxFull[src], Is.EqualTo(0), $"PyTorch's grad_x at an uncovered element {src}");
                }

        var res = LayerHarness.Run(Context, layer, new[] { cropped }, new[] { xc }, null, f["grad_y"].Floats);
        FixtureLayer.AssertOutput(res, f);
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gxc), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [Test]
    public void MaxPool_TiedWindow_GradientGoesToTheFirstMaximum()
    {
        var x = new float[] { 1, 3, 3, 3, /**/ 2, 2, 0, 0 };
        var res = LayerHarness.Run(Context, new MaxPool2d(2), new[] { new Shape(1, 1, 2, 4) }, new[] { x }, null, new float[] { 10, 20 });
        Assert.That(res.Output, Is.EqualTo(new float[] { 3, 3 }));
        Assert.That(res.InputGradients[0], Is.EqualTo(new float[] { 0, 10, 20, 0, 0, 0, 0, 0 }));
    }

    /// <summary>
    /// The 4-wide forms (four 2x2 windows side by side in one invocation) keep the one-element rule: NaN wins its
    /// window, a window of -inf sends its gradient to its first element, a tie to the first maximum.
    /// </summary>
    [Test]
    public void MaxPool_FourWindowsAtOnce_NaNMinusInfinityAndTies()
    {
        float nan = float.NaN, inf = float.NegativeInfinity;
        var x = new[]
        {
            1, nan, inf, inf, 5, 5, 0, 1,
            2, 3, inf, inf, 5, 4, 2, 0,
        };
        var res = LayerHarness.Run(Context, new MaxPool2d(2), new[] { new Shape(1, 1, 2, 8) }, new[] { x }, null, new float[] { 10, 20, 30, 40 });
        Assert.That(res.GroupsOf("layer.fwd"), Is.EqualTo("1x1x1"));
        Assert.That(res.Output, Is.EqualTo(new[] { nan, inf, 5, 2 }));
        Assert.That(res.InputGradients[0], Is.EqualTo(new float[] { 0, 10, 20, 0, 30, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0, 40, 0 }));
    }

    /// <summary>
    /// Each invocation takes 4 outputs (forward) or 4 windows (backward) where the output width is a multiple of 4, one
    /// element otherwise; 256 invocations a workgroup. [2,4,16,w], 2x2 max.
    /// </summary>
    [TestCase(64, "2x1x1", "2x1x1")]  // 2048 outputs / 4, forward and backward
    [TestCase(60, "8x1x1", "30x1x1")] // 1920 outputs and 7680 inputs one by one (30 wide)
    public void FourPerInvocation_WhereTheOutputWidthIsAMultipleOf4(int w, string forward, string backward)
    {
        var shape = new Shape(2, 4, 16, w);
        var res = LayerHarness.Run(Context, new MaxPool2d(2), new[] { shape }, new[] { new float[shape.Elements] }, null, new float[shape.Elements / 4]);
        Assert.That(res.GroupsOf("layer.fwd"), Is.EqualTo(forward), "forward");
        Assert.That(res.GroupsOf("layer.bwd"), Is.EqualTo(backward), "backward");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void OddSize_FailsAtCompileTimeNamingTheLayer(bool max)
    {
        Layer layer = max ? new MaxPool2d(2) : new AvgPool2d(2);
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, layer, new[] { new Shape(1, 2, 5, 6) }, new[] { new float[60] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain(max ? "maxpool2d" : "avgpool2d").And.Contain("even H and W").And.Contain("5x6"));
    }

    [Test]
    public void InputSmallerThanWindow_IsAMismatch()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new MaxPool2d(3, 1), new[] { new Shape(1, 1, 2, 5) }, new[] { new float[10] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("smaller"));
    }

    [Test]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new MaxPool2d(0));
        Assert.Throws<ArgumentException>(() => new AvgPool2d(2, -1));
    }
}
