using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class LinearTests : GpuTest
{
    static float[] Random(Random r, long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();

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
        var r = new Random(1234 + n * 31 + inF);
        var x = Random(r, n * inF);
        var w = Random(r, outF * inF);
        var b = bias ? Random(r, outF) : null;
        var gy = Random(r, n * outF);
        var ps = new Dictionary<string, float[]> { ["weight"] = w };
        if (b != null) ps["bias"] = b;
        var res = LayerHarness.Run(Context, new Linear(inF, outF, bias), new[] { new Shape(n, inF) }, new[] { x }, ps, gy);

        Assert.That(res.OutputShape, Is.EqualTo(new Shape(n, outF)));
        var y = Forward(x, w, b, n, inF, outF);
        Assert.That(MaxRel(res.Output, y), Is.LessThan(Tolerances.Forward), "y");

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
        Assert.That(MaxRel(res.InputGradients[0], gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(MaxRel(res.ParameterGradients["weight"], gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        if (bias) Assert.That(MaxRel(res.ParameterGradients["bias"], gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
        else Assert.That(res.ParameterGradients.ContainsKey("bias"), Is.False);
    }

    [Test]
    public void ForwardFusesAFollowingActivation()
    {
        var r = new Random(7);
        int n = 5, inF = 9, outF = 6;
        var x = Random(r, n * inF);
        var w = Random(r, outF * inF);
        var b = Random(r, outF);
        var net = new Sequential(new Linear(inF, outF), new LeakyReLU(0.2f));
        using var compiled = net.Compile(Context, CompileOptions.For("x", new Shape(n, inF)));
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Kernel), Is.EqualTo(new[] { "linear/linear.gemm" }));
        compiled.SetInput("x", x);
        var prefix = compiled.Parameters.Keys.Single(k => k.EndsWith(".weight"))[..^".weight".Length];
        compiled.Parameters[$"{prefix}.weight"].Upload(w);
        compiled.Parameters[$"{prefix}.bias"].Upload(b);
        compiled.Run();
        var y = Forward(x, w, b, n, inF, outF).Select(v => v >= 0 ? v : 0.2 * v).ToArray();
        Assert.That(MaxRel(compiled.GetOutput("y"), y), Is.LessThan(Tolerances.Forward));
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

    internal static double MaxRel(float[] actual, double[] expected)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        double scale = expected.Max(Math.Abs), err = 0;
        for (int i = 0; i < actual.Length; i++) err = Math.Max(err, Math.Abs(actual[i] - expected[i]));
        return scale == 0 ? err : err / scale;
    }
}
