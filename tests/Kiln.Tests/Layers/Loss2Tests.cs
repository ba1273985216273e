using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// HuberLoss, BceWithLogitsLoss and SoftmaxCrossEntropyLoss on the GPU: loss value and the gradients of prediction
/// (logits) and target against the double references and the PyTorch fixtures.
/// </summary>
public sealed class Loss2Tests : GpuTest
{
    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    static void Check(LayerResult res, double loss, double[] gradPred, double[] gradTarget)
    {
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(1)));
        Assert.That(RelativeError.MaxRelative(res.Output, new[] { loss }), Is.LessThan(Tolerances.Forward), $"loss {res.Output[0]} vs {loss}");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], gradPred), Is.LessThan(Tolerances.Gradient), "grad_pred");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], gradTarget), Is.LessThan(Tolerances.Gradient), "grad_target");
    }

    static float[] Uniform(long length, int seed, double lo, double hi) =>
        RandomData.Uniform(checked((int)length), seed, lo, hi).Select(v => (float)v).ToArray();

    static IEnumerable<TestCaseData> HuberCases()
    {
        yield return new TestCaseData(new Shape(2, 3, 4, 5), 1f).SetArgDisplayNames("image_delta1");
        yield return new TestCaseData(new Shape(7), 0.25f).SetArgDisplayNames("vector_delta0p25");
        yield return new TestCaseData(new Shape(2, 3, 33, 31), 1.5f).SetArgDisplayNames("many_elements_delta1p5");
        yield return new TestCaseData(new Shape(4, 9), 10f).SetArgDisplayNames("all_quadratic_delta10");
    }

    [TestCaseSource(nameof(HuberCases))]
    public void Huber_MatchesReference(Shape shape, float delta)
    {
        int r = (int)shape.Elements;
        var p = Uniform(shape.Elements, r++, -2, 2);
        var t = Uniform(shape.Elements, r++, -2, 2);
        t[0] = p[0] - delta; // exactly on the kink (up to f32 rounding of the difference)
        const float gl = 0.75f;
        var res = LayerHarness.Run(Context, new HuberLoss(delta), new[] { shape, shape }, new[] { p, t }, null, new[] { gl });
        Check(res, RefHuberLoss.Forward(D(p), D(t), delta), RefHuberLoss.Backward(D(p), D(t), delta, gl),
            RefHuberLoss.BackwardTarget(D(p), D(t), delta, gl));
    }

    static IEnumerable<TestCaseData> BceCases()
    {
        yield return new TestCaseData(new Shape(2, 3, 4, 5), 4.0).SetArgDisplayNames("image");
        yield return new TestCaseData(new Shape(5), 1.0).SetArgDisplayNames("vector");
        yield return new TestCaseData(new Shape(2, 3, 33, 31), 6.0).SetArgDisplayNames("many_elements");
        yield return new TestCaseData(new Shape(8, 16), 200.0).SetArgDisplayNames("huge_logits");
    }

    [TestCaseSource(nameof(BceCases))]
    public void BceWithLogits_MatchesReference(Shape shape, double logitRange)
    {
        int r = (int)shape.Elements + 100;
        var x = Uniform(shape.Elements, r++, -logitRange, logitRange);
        var t = Uniform(shape.Elements, r++, 0, 1);
        t[0] = 1; t[^1] = 0;
        const float gl = 1.25f;
        var res = LayerHarness.Run(Context, new BceWithLogitsLoss(), new[] { shape, shape }, new[] { x, t }, null, new[] { gl });
        Check(res, RefBceWithLogitsLoss.Forward(D(x), D(t)), RefBceWithLogitsLoss.Backward(D(x), D(t), gl),
            RefBceWithLogitsLoss.BackwardTarget(D(x), D(t), gl));
    }

    static IEnumerable<TestCaseData> SoftmaxCeCases()
    {
        yield return new TestCaseData(4, 10, true, 3.0).SetArgDisplayNames("one_hot_4x10");
        yield return new TestCaseData(3, 7, false, 3.0).SetArgDisplayNames("probabilities_3x7");
        yield return new TestCaseData(300, 5, true, 3.0).SetArgDisplayNames("more_rows_than_a_workgroup");
        yield return new TestCaseData(2, 1000, false, 5.0).SetArgDisplayNames("many_classes");
        yield return new TestCaseData(6, 4, true, 150.0).SetArgDisplayNames("huge_logits");
        yield return new TestCaseData(5, 1, true, 1.0).SetArgDisplayNames("one_class");
    }

    [TestCaseSource(nameof(SoftmaxCeCases))]
    public void SoftmaxCrossEntropy_MatchesReference(int n, int c, bool oneHot, double logitRange)
    {
        int r = n * c + 200;
        var x = Uniform(n * c, r++, -logitRange, logitRange);
        var t = new float[n * c];
        var random = new Random(r++);
        for (int i = 0; i < n; i++)
        {
            if (oneHot) { t[i * c + random.Next(c)] = 1; continue; }
            var w = Enumerable.Range(0, c).Select(_ => random.NextDouble()).ToArray();
            double s = w.Sum();
            for (int k = 0; k < c; k++) t[i * c + k] = (float)(w[k] / s);
        }
        const float gl = 0.5f;
        var shape = new Shape(n, c);
        var res = LayerHarness.Run(Context, new SoftmaxCrossEntropyLoss(), new[] { shape, shape }, new[] { x, t }, null, new[] { gl });
        Check(res, RefSoftmaxCrossEntropyLoss.Forward(D(x), D(t), n, c), RefSoftmaxCrossEntropyLoss.Backward(D(x), D(t), n, c, gl),
            RefSoftmaxCrossEntropyLoss.BackwardTarget(D(x), D(t), n, c, gl));
    }

    static IEnumerable<TestCaseData> PyTorchCases() =>
        new[] { "huber_loss", "bce_with_logits_loss", "softmax_cross_entropy_loss" }.SelectMany(Fixture.All);

    /// <summary>
    /// Each PyTorch fixture: y and grad_y are scalars (the harness's DotLoss takes grad_y as a one-element tensor, so the
    /// loss's gradient is exactly grad_y); the fixtures hold grad_pred and grad_target.
    /// </summary>
    [TestCaseSource(nameof(PyTorchCases))]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        Assert.That(f.Str("reduction"), Is.EqualTo("mean"));
        Layer loss = f.Op switch
        {
            "huber_loss" => new HuberLoss((float)f.Double("delta")),
            "bce_with_logits_loss" => new BceWithLogitsLoss(),
            "softmax_cross_entropy_loss" => new SoftmaxCrossEntropyLoss(),
            var op => throw new InvalidDataException($"{f.Name}: op {op}"),
        };
        Assert.That(f["grad_y"].Shape, Is.Empty, "grad_y is a scalar");
        var res = FixtureLayer.Run(Context, loss, f, "pred", "target");
        FixtureLayer.AssertAll(res, f, "pred", "target");
    }

    /// <summary>Training through the loss (no harness): logits made by a layer get the gradient (softmax(x) - t) / N.</summary>
    [Test]
    public void SoftmaxCrossEntropy_AsTheNetworkLoss_TrainsTheLogits()
    {
        var shape = new Shape(2, 3);
        var net = new Network();
        var logits = net.Add(new LeakyReLU(1f), "logits", net.Input("x"));
        net.SetLoss(new SoftmaxCrossEntropyLoss(), logits, net.Input("target"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["target"] = shape },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        compiled.SetInput("x", new float[] { 0, 0, 0, 1, 2, 3 });
        compiled.SetInput("target", new float[] { 0, 1, 0, 0, 0, 1 });
        compiled.Run();
        double[] x = { 0, 0, 0, 1, 2, 3 }, t = { 0, 1, 0, 0, 0, 1 };
        Assert.That(compiled.GetOutput("loss")[0], Is.EqualTo(RefSoftmaxCrossEntropyLoss.Forward(x, t, 2, 3)).Within(1e-6));
        Assert.That(compiled.InputGradients["x"].ToArray(), Is.EqualTo(RefSoftmaxCrossEntropyLoss.Backward(x, t, 2, 3)).Within(1e-6));
    }

    [Test]
    public void PredictionTargetMismatch_NamesTheLayer()
    {
        var shapes = new[] { new Shape(2, 3), new Shape(3, 2) };
        foreach (var layer in new Layer[] { new HuberLoss(), new BceWithLogitsLoss(), new SoftmaxCrossEntropyLoss() })
        {
            var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, layer, shapes, new[] { new float[6], new float[6] }));
            Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,3]").And.Contain("[3,2]"), layer.Kind);
        }
    }

    [Test]
    public void SoftmaxCrossEntropyOfNonMatrixLogits_NamesTheLayer()
    {
        var shapes = new[] { new Shape(2, 3, 4), new Shape(2, 3, 4) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new SoftmaxCrossEntropyLoss(), shapes, new[] { new float[24], new float[24] }));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,3,4]").And.Contain("[N, C]"));
    }

    [TestCase(0f)]
    [TestCase(-1f)]
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void HuberDeltaMustBePositive(float delta) =>
        Assert.Throws<ArgumentException>(() => new HuberLoss(delta));
}
