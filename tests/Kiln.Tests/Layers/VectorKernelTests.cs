using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The shared elementwise kernels take 4 elements per invocation (shaders/include/elementwise.glsl) and the last
/// invocation the tail of a length not a multiple of 4 one at a time: every length from 1 to 9 and a long odd one, each
/// element against its formula, for the activation and its gradient (unary, unary.bwd), a sum (add), and at f16 the
/// conversions into and out of activation storage (to_storage, from_storage) and the gradient's sum of two readers; the
/// same-shape binary ops, GELU, Clip and Dropout, forward and backward (binary, gelu, clip and dropout kernels).
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

    static float[] Uniform(int n, int seed, double lo, double hi) => RandomData.Uniform(n, seed, lo, hi).Select(v => (float)v).ToArray();

    [TestCaseSource(nameof(Lengths))]
    public void MulSubDiv_EveryElement_ForwardAndBackward(int n)
    {
        var a = Uniform(n, 300 + n, -2, 2);
        var b = Uniform(n, 340 + n, 0.5, 2);
        var gy = Uniform(n, 380 + n, -1, 1);
        foreach (var (layer, kind) in new (Layer, string)[] { (new Mul(), "mul"), (new Sub(), "sub"), (new Div(), "div") })
        {
            var r = LayerHarness.Run(Context, layer, new[] { new Shape(n), new Shape(n) }, new[] { a, b }, null, gy);
            for (int i = 0; i < n; i++)
            {
                double u = a[i], v = b[i], g = gy[i];
                var (y, da, db) = kind switch
                {
                    "mul" => (u * v, g * v, g * u),
                    "sub" => (u - v, g, -g),
                    _ => (u / v, g / v, -g * (u / v) / v),
                };
                Assert.That(r.Output[i], Is.EqualTo(y).Within(1e-6 * Math.Max(1, Math.Abs(y))), $"{kind} y[{i}] of {n}");
                Assert.That(r.InputGradients[0][i], Is.EqualTo(da).Within(1e-6 * Math.Max(1, Math.Abs(da))), $"{kind} da[{i}] of {n}");
                Assert.That(r.InputGradients[1][i], Is.EqualTo(db).Within(1e-6 * Math.Max(1, Math.Abs(db))), $"{kind} db[{i}] of {n}");
            }
        }
    }

    [TestCaseSource(nameof(Lengths))]
    public void GeluAndClip_EveryElement_ForwardAndBackward(int n)
    {
        var x = Uniform(n, 420 + n, -3, 3);
        var gy = Uniform(n, 460 + n, -1, 1);
        var gelu = LayerHarness.Run(Context, new Gelu(), new[] { new Shape(1, n) }, new[] { x }, null, gy);
        var clip = LayerHarness.Run(Context, new Clip(-0.5f, 1f), new[] { new Shape(1, n) }, new[] { x }, null, gy);
        var y = RefGelu.Forward(x.Select(v => (double)v).ToArray());
        var dx = RefGelu.Backward(x.Select(v => (double)v).ToArray(), gy.Select(v => (double)v).ToArray());
        for (int i = 0; i < n; i++)
        {
            Assert.That(gelu.Output[i], Is.EqualTo(y[i]).Within(1e-5), $"gelu y[{i}] of {n}");
            Assert.That(gelu.InputGradients[0][i], Is.EqualTo(dx[i]).Within(1e-5), $"gelu dx[{i}] of {n}");
            Assert.That(clip.Output[i], Is.EqualTo(Math.Clamp(x[i], -0.5f, 1f)), $"clip y[{i}] of {n}");
            Assert.That(clip.InputGradients[0][i], Is.EqualTo(x[i] >= -0.5f && x[i] <= 1f ? gy[i] : 0f), $"clip dx[{i}] of {n}");
        }
    }

    /// <summary>Each element kept (x / (1 - p)) or dropped (0) by its own hash, and its gradient by the same mask.</summary>
    [TestCaseSource(nameof(Lengths))]
    public void Dropout_EveryElement_KeepsOrDropsItsGradientAlike(int n)
    {
        var x = Uniform(n, 500 + n, 0.5, 2);
        var gy = Uniform(n, 540 + n, 0.5, 2);
        var r = LayerHarness.Run(Context, new Dropout(0.5f), new[] { new Shape(1, n) }, new[] { x }, null, gy);
        for (int i = 0; i < n; i++)
        {
            bool kept = r.Output[i] != 0;
            Assert.That(r.Output[i], Is.EqualTo(kept ? x[i] * 2 : 0f), $"y[{i}] of {n}");
            Assert.That(r.InputGradients[0][i], Is.EqualTo(kept ? gy[i] * 2 : 0f), $"dx[{i}] of {n}");
        }
        if (n == 1029) Assert.That(r.Output.Count(v => v != 0), Is.InRange(400, 630), "about half kept");
    }
}
