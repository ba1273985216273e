using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class LinearTests : GpuTest
{
    static double[] Forward(float[] x, float[] w, float[]? b, int n, int inF, int outF)
    {
        var y = new double[n * outF];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outF; o++)
            {
                double s = b?[o] ?? 0;
                for (int k = 0; k < inF; k++) s += (double)x[i * inF + k] * w[o * inF + k];
                y[i * outF + o] = s;
            }
        return y;
    }

    [TestCase(3, 5, 7, true)]
    [TestCase(8, 16, 4, false)]
    [TestCase(1, 33, 9, true)]
    [TestCase(13, 6, 1, true)]
    public void ForwardAndBackwardMatchReference(int n, int inF, int outF, bool bias)
    {
        int r = 1234 + n * 31 + inF;
        var x = FixtureLayer.Uniform(n * inF, r++);
        var w = FixtureLayer.Uniform(outF * inF, r++);
        var b = bias ? FixtureLayer.Uniform(outF, r++) : null;
        var gy = FixtureLayer.Uniform(n * outF, r++);
        var ps = new Dictionary<string, float[]> { ["weight"] = w };
        if (b != null) ps["bias"] = b;
        var res = LayerHarness.Run(Context, new Linear(inF, outF, bias), new[] { new Shape(n, inF) }, new[] { x }, ps, gy);

        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, outF)));
        var y = Forward(x, w, b, n, inF, outF);
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward), "y");

        var gx = new double[n * inF];
        var gw = new double[outF * inF];
        var gb = new double[outF];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outF; o++)
            {
                double d = gy[i * outF + o];
                gb[o] += d;
                for (int k = 0; k < inF; k++)
                {
                    gx[i * inF + k] += d * w[o * inF + k];
                    gw[o * inF + k] += d * x[i * inF + k];
                }
            }
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        if (bias) Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
        else Assert.That(res.ParameterGradients.ContainsKey("bias"), Is.False);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "linear" })]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        var layer = new Linear(f.Int("in_features"), f.Int("out_features"), f.Has("bias"));
        var res = FixtureLayer.Run(Context, layer, f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }

    /// <summary>The GPU's gradients against central differences of the double reference loss sum(r * linear(x)), r the output gradient.</summary>
    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        int n = 3, inF = 6, outF = 4;
        var x = FixtureLayer.Uniform(n * inF, 61);
        var w = FixtureLayer.Uniform(outF * inF, 62);
        var b = FixtureLayer.Uniform(outF, 63);
        var gy = FixtureLayer.Uniform(n * outF, 64);
        var res = LayerHarness.Run(Context, new Linear(inF, outF), new[] { new Shape(n, inF) }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = w, ["bias"] = b }, gy);
        double[] dx = ConvTest.D(x), dw = ConvTest.D(w), db = ConvTest.D(b), r = ConvTest.D(gy);
        double Loss(double[] xv, double[] wv, double[] bv) => FixtureLayer.Dot(r, RefLinear.Forward(xv, wv, bv, n, inF, outF));
        var gx = FiniteDifferences.Gradient(v => Loss(v, dw, db), dx);
        var gw = FiniteDifferences.Gradient(v => Loss(dx, v, db), dw);
        var gb = FiniteDifferences.Gradient(v => Loss(dx, dw, v), db);
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    [Test]
    public void ForwardFusesAFollowingActivation()
    {
        int r = 7;
        int n = 5, inF = 9, outF = 6;
        var x = FixtureLayer.Uniform(n * inF, r++);
        var w = FixtureLayer.Uniform(outF * inF, r++);
        var b = FixtureLayer.Uniform(outF, r++);
        var net = new Sequential(new Linear(inF, outF), new LeakyReLU(0.2f));
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(n, inF)));
        // One dispatch (the storage-buffer GEMM, or on a CPU device its texel-read variant).
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel), Has.Exactly(1).Items.And.All.StartsWith("linear/linear.gemm"));
        compiled.SetInput("x", x);
        var prefix = compiled.Parameters.Keys.Single(k => k.EndsWith(".weight"))[..^".weight".Length];
        compiled.Parameters[$"{prefix}.weight"].Upload(w);
        compiled.Parameters[$"{prefix}.bias"].Upload(b);
        compiled.Run();
        var y = Forward(x, w, b, n, inF, outF).Select(v => v >= 0 ? v : 0.2 * v).ToArray();
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), y), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void WrongInFeatures_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Linear(8, 4), new[] { new Shape(2, 6) }, new[] { new float[12] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("8 input features").And.Contain("[2,6]"));
    }

    [Test]
    public void FourDimensionalInput_AsksForFlatten()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new Linear(12, 4), new[] { new Shape(2, 3, 2, 2) }, new[] { new float[24] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("Flatten"));
    }
}
