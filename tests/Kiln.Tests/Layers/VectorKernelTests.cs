using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The shared elementwise kernels take 4 elements per invocation (shaders/include/elementwise.glsl) and the last
/// invocation the tail of a length not a multiple of 4 one at a time: every length from 1 to 9 and a long odd one, each
/// element against its formula, for the activation and its gradient (unary, unary.bwd), a sum (add), and at f16 the
/// conversions into and out of activation storage (to_storage, from_storage) and the gradient's sum of two readers.
/// </summary>
public sealed class VectorKernelTests : GpuTest
{
    static readonly int[] Lengths = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 1029 };

    [TestCaseSource(nameof(Lengths))]
    public void LeakyReLU_EveryElement(int n)
    {
        var x = RandomData.Uniform(n, 40 + n, -2, 2).Select(v => (float)v).ToArray();
        var gy = RandomData.Uniform(n, 80 + n, -1, 1).Select(v => (float)v).ToArray();
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            // At f16 the inputs are stored as f16 first (to_storage), y and dx come back through from_storage.
            float Stored(float v) => precision == Precision.Fp16 ? (float)(Half)v : v;
            var r = LayerHarness.Run(Context, new LeakyReLU(0.25f), new[] { new Shape(1, n) }, new[] { x }, null, gy, precision: precision);
            double tolerance = precision == Precision.Fp16 ? 2e-3 : 1e-6;
            for (int i = 0; i < n; i++)
            {
                float xs = Stored(x[i]);
                Assert.That(r.Output[i], Is.EqualTo(xs >= 0 ? xs : 0.25 * xs).Within(tolerance), $"{precision} y[{i}] of {n}");
                Assert.That(r.InputGradients[0][i], Is.EqualTo(Stored(gy[i]) * (xs > 0 ? 1 : 0.25)).Within(tolerance), $"{precision} dx[{i}] of {n}");
            }
            Assert.That(r.Kernels, Has.Some.StartsWith("elementwise/unary.bwd"));
        }
    }

    [TestCaseSource(nameof(Lengths))]
    public void Add_EveryElement(int n)
    {
        var a = RandomData.Uniform(n, 120 + n, -2, 2).Select(v => (float)v).ToArray();
        var b = RandomData.Uniform(n, 160 + n, -2, 2).Select(v => (float)v).ToArray();
        var r = LayerHarness.Run(Context, new Add(), new[] { new Shape(n), new Shape(n) }, new[] { a, b });
        Assert.That(r.Kernels, Does.Contain("elementwise/add"));
        for (int i = 0; i < n; i++) Assert.That(r.Output[i], Is.EqualTo(a[i] + b[i]), $"c[{i}] of {n}");
    }

    /// <summary>A value read by two layers gets the sum of their gradients (elementwise/add) and a copy through unary.</summary>
    [TestCaseSource(nameof(Lengths))]
    public void GradientOfTwoReaders_IsTheirSum(int n)
    {
        var net = new Network();
        var x = net.Input("x");
        var sum = net.Add(new Add(), "sum", net.Add(new Tanh(), "tanh", x), net.Add(new Sigmoid(), "sigmoid", x));
        net.Output(sum, "y");
        net.SetLoss(new DotLoss(), sum, net.Input("g"));
        var shape = new Shape(n);
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["g"] = shape }, Training = true, InputGradients = true, LearningRate = 0,
        });
        var xs = RandomData.Uniform(n, 200 + n, -2, 2).Select(v => (float)v).ToArray();
        var g = RandomData.Uniform(n, 240 + n, -1, 1).Select(v => (float)v).ToArray();
        c.SetInput("x", xs);
        c.SetInput("g", g);
        c.Run();
        var dx = c.InputGradients["x"].ToArray();
        for (int i = 0; i < n; i++)
        {
            double t = Math.Tanh(xs[i]), s = 1 / (1 + Math.Exp(-xs[i]));
            Assert.That(dx[i], Is.EqualTo(g[i] * (1 - t * t + s * (1 - s))).Within(1e-5), $"dx[{i}] of {n}");
        }
    }
}
