using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class ActivationTests : GpuTest
{
    static readonly float[] X = { -2f, -0.5f, 0f, 0.25f, 1.5f, 3f, -1f, 0.75f };

    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new ReLU(), (Func<double, double>)(x => Math.Max(x, 0)), (Func<double, double>)(x => x > 0 ? 1 : 0)).SetArgDisplayNames("relu");
        yield return new TestCaseData(new LeakyReLU(0.1f), (Func<double, double>)(x => x >= 0 ? x : 0.1 * x), (Func<double, double>)(x => x > 0 ? 1 : 0.1)).SetArgDisplayNames("leaky_relu");
        yield return new TestCaseData(new Sigmoid(), (Func<double, double>)(x => 1 / (1 + Math.Exp(-x))), (Func<double, double>)(x => Math.Exp(-x) / Math.Pow(1 + Math.Exp(-x), 2))).SetArgDisplayNames("sigmoid");
        yield return new TestCaseData(new Tanh(), (Func<double, double>)Math.Tanh, (Func<double, double>)(x => 1 - Math.Tanh(x) * Math.Tanh(x))).SetArgDisplayNames("tanh");
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheFormula(Layer layer, Func<double, double> f, Func<double, double> df)
    {
        var gy = X.Select((_, i) => (float)(0.5 + 0.25 * i)).ToArray();
        var r = LayerHarness.Run(Context, layer, new[] { new Shape(2, 4) }, new[] { X }, null, gy);
        for (int i = 0; i < X.Length; i++)
        {
            Assert.That(r.Output[i], Is.EqualTo(f(X[i])).Within(1e-6), $"forward at {X[i]}");
            Assert.That(r.InputGradients[0][i], Is.EqualTo(gy[i] * df(X[i])).Within(1e-5), $"gradient at {X[i]}");
        }
    }

    static IEnumerable<TestCaseData> PyTorchCases() => new[] { "relu", "leaky_relu", "sigmoid", "tanh" }.SelectMany(Fixture.All);

    [TestCaseSource(nameof(PyTorchCases))]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        Layer layer = f.Op switch
        {
            "relu" => new ReLU(),
            "leaky_relu" => new LeakyReLU((float)f.Double("negative_slope")),
            "sigmoid" => new Sigmoid(),
            "tanh" => new Tanh(),
            var op => throw new InvalidDataException($"{f.Name}: op {op}"),
        };
        var res = FixtureLayer.Run(Context, layer, f, "x");
        FixtureLayer.AssertAll(res, f, "x");
    }
}
