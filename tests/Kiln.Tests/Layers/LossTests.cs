using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>MseLoss, L1Loss and their masked versions: mean reduction as in PyTorch, against double-precision references.</summary>
public sealed class LossTests : GpuTest
{
    /// <summary>Loss value and gradients of prediction and target for loss = sum(m * err) / den, times gl (the loss's gradient).</summary>
    static (double Loss, double[] Gp, double[] Gt) Reference(bool l1, float[] p, float[] t, Func<int, double> mask, double den, double gl)
    {
        double num = 0;
        var gp = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double d = (double)p[i] - t[i], m = mask(i);
            num += m * (l1 ? Math.Abs(d) : d * d);
            gp[i] = gl * m * (l1 ? Math.Sign(d) : 2 * d) / den;
        }
        return (num / den, gp, gp.Select(v => -v).ToArray());
    }

    static void Check(LayerResult res, (double Loss, double[] Gp, double[] Gt) expected)
    {
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(1)));
        Assert.That(RelativeError.MaxRelative(res.Output, new[] { expected.Loss }), Is.LessThan(Tolerances.Forward), $"loss {res.Output[0]} vs {expected.Loss}");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], expected.Gp), Is.LessThan(Tolerances.Gradient), "grad_prediction");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[1], expected.Gt), Is.LessThan(Tolerances.Gradient), "grad_target");
    }

    static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(new Shape(2, 3, 4, 5)).SetArgDisplayNames("image");
        yield return new TestCaseData(new Shape(7)).SetArgDisplayNames("vector");
        yield return new TestCaseData(new Shape(2, 3, 33, 31)).SetArgDisplayNames("many_elements");
    }

    /// <summary>DotLoss's gradients (four elements an invocation, the tail one at a time) are the other input times the
    /// output gradient: the weights and the prediction exactly where that is 1, at f32 and in f16 storage.</summary>
    [TestCase(7, Precision.Fp32)]
    [TestCase(6138, Precision.Fp32)]
    [TestCase(6138, Precision.Fp16)]
    public void Dot_GradientsAreTheOtherInput(int count, Precision precision)
    {
        var shape = new Shape(count);
        var (a, b) = (FixtureLayer.Uniform(count, 1), FixtureLayer.Uniform(count, 2));
        var res = LayerHarness.Run(Context, new DotLoss(), new[] { shape, shape }, new[] { a, b }, null, new[] { 1f }, precision: precision);
        float Stored(float v) => precision == Precision.Fp16 ? (float)(Half)v : v;
        Assert.That(res.InputGradients[0], Is.EqualTo(b.Select(Stored)).AsCollection, "d/da = b");
        Assert.That(res.InputGradients[1], Is.EqualTo(a.Select(Stored)).AsCollection, "d/db = a");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Mse_MatchesReference(Shape shape) => Pair(new MseLoss(), false, shape);

    [TestCaseSource(nameof(Shapes))]
    public void L1_MatchesReference(Shape shape) => Pair(new L1Loss(), true, shape);

    void Pair(Layer loss, bool l1, Shape shape)
    {
        int r = (int)shape.Elements;
        var p = FixtureLayer.Uniform(shape.Elements, r++);
        var t = FixtureLayer.Uniform(shape.Elements, r++);
        t[0] = p[0]; // equality: L1's gradient is 0 there
        const float gl = 0.75f;
        var res = LayerHarness.Run(Context, loss, new[] { shape, shape }, new[] { p, t }, null, new[] { gl });
        Check(res, Reference(l1, p, t, _ => 1, shape.Elements, gl));
        if (l1) Assert.That(res.InputGradients[0][0], Is.EqualTo(0f), "sign(0) = 0");
    }

    static IEnumerable<TestCaseData> MaskedCases()
    {
        foreach (var l1 in new[] { false, true })
        {
            string k = l1 ? "l1" : "mse";
            yield return new TestCaseData(l1, new Shape(2, 3, 4, 5), new Shape(2, 1, 4, 5), false).SetArgDisplayNames($"{k}_broadcast");
            yield return new TestCaseData(l1, new Shape(2, 3, 4, 5), new Shape(2, 3, 4, 5), false).SetArgDisplayNames($"{k}_same_shape");
            yield return new TestCaseData(l1, new Shape(2, 2, 30, 20), new Shape(2, 1, 30, 20), true).SetArgDisplayNames($"{k}_broadcast_soft_mask");
            yield return new TestCaseData(l1, new Shape(3, 1, 5, 5), new Shape(3, 1, 5, 5), true).SetArgDisplayNames($"{k}_one_channel_soft");
            // A mask row (35 pixels) not a multiple of the backward's 4-wide step, and a tail of 2 elements.
            yield return new TestCaseData(l1, new Shape(2, 3, 5, 7), new Shape(2, 1, 5, 7), true).SetArgDisplayNames($"{k}_broadcast_odd_rows");
        }
    }

    [TestCaseSource(nameof(MaskedCases))]
    public void Masked_MatchesReference(bool l1, Shape shape, Shape maskShape, bool soft)
    {
        int r = (int)(shape.Elements + maskShape.Elements) + (l1 ? 1 : 0);
        var p = FixtureLayer.Uniform(shape.Elements, r++);
        var t = FixtureLayer.Uniform(shape.Elements, r++);
        t[1] = p[1];
        var m = (soft ? RandomData.Uniform((int)maskShape.Elements, r, 0, 1) : RandomData.Mask((int)maskShape.Elements, r)).Select(v => (float)v).ToArray();
        bool broadcast = maskShape != shape;
        int c = shape[1], inner = (int)(shape.Elements / shape[0] / c);
        Func<int, double> mask = broadcast ? i => m[i / (c * inner) * inner + i % inner] : i => m[i];
        double den = Math.Max(Enumerable.Range(0, p.Length).Sum(mask), 1);
        const float gl = 1.5f;
        var res = LayerHarness.Run(Context, l1 ? new MaskedL1Loss() : new MaskedMseLoss(), new[] { shape, shape, maskShape }, new[] { p, t, m }, null, new[] { gl });
        Check(res, Reference(l1, p, t, mask, den, gl));
        Assert.That(res.InputGradients[2], Has.Length.EqualTo(m.Length).And.All.EqualTo(0f), "the mask gets no gradient");
    }

    [Test]
    public void Masked_EmptyMask_GivesZeroLossAndGradient()
    {
        var shape = new Shape(1, 2, 3, 3);
        int r = 2;
        var p = FixtureLayer.Uniform(shape.Elements, r++);
        var t = FixtureLayer.Uniform(shape.Elements, r++);
        var res = LayerHarness.Run(Context, new MaskedMseLoss(), new[] { shape, shape, new Shape(1, 1, 3, 3) }, new[] { p, t, new float[9] }, null, new[] { 1f });
        Assert.That(res.Output[0], Is.EqualTo(0f));
        Assert.That(res.InputGradients[0], Is.All.EqualTo(0f));
    }

    /// <summary>Training through the loss (no harness): a prediction made by a layer gets its gradient, the target and mask none.</summary>
    [Test]
    public void MaskedL1_AsTheNetworkLoss_TrainsThePrediction()
    {
        var shape = new Shape(1, 2, 2, 2);
        var net = new Network();
        var pred = net.Add(new LeakyReLU(1f), "pred", net.Input("x"));
        net.SetLoss(new MaskedL1Loss(), pred, net.Input("target"), net.Input("mask"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["target"] = shape, ["mask"] = new Shape(1, 1, 2, 2) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        var x = new float[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        compiled.SetInput("x", x);
        compiled.SetInput("target", new float[] { 0, 2, 4, 0, 0, 0, 9, 0 });
        compiled.SetInput("mask", new float[] { 1, 1, 1, 0 });
        compiled.Run();
        // Masked elements (pixel 3 of both channels excluded): |1|, 0, |-1|, |5|, |6|, |-2| over 6.
        Assert.That(compiled.GetOutput("loss")[0], Is.EqualTo(15f / 6).Within(1e-6));
        Assert.That(compiled.InputGradients["x"].ToArray(), Is.EqualTo(new[] { 1f, 0, -1, 0, 1, 1, -1, 0 }.Select(v => v / 6)).Within(1e-7));
    }

    static IEnumerable<TestCaseData> PyTorchCases() =>
        new[] { "mse_loss", "l1_loss", "masked_mse_loss", "masked_l1_loss" }.SelectMany(Fixture.All);

    /// <summary>
    /// Each PyTorch loss fixture: y and grad_y are scalars (shape []); the harness gives grad_y as the loss's output
    /// gradient, a one-element tensor. The fixtures hold grad_pred only.
    /// </summary>
    [TestCaseSource(nameof(PyTorchCases))]
    public void ForwardAndBackwardMatchPyTorch(Fixture f)
    {
        Assert.That(f.Str("reduction"), Is.EqualTo("mean"));
        Layer loss = f.Op switch
        {
            "mse_loss" => new MseLoss(),
            "l1_loss" => new L1Loss(),
            "masked_mse_loss" => new MaskedMseLoss(),
            "masked_l1_loss" => new MaskedL1Loss(),
            var op => throw new InvalidDataException($"{f.Name}: op {op}"),
        };
        var inputs = f.Has("mask") ? new[] { "pred", "target", "mask" } : new[] { "pred", "target" };
        Assert.That(f["grad_y"].Shape, Is.Empty, "grad_y is a scalar");
        var res = FixtureLayer.Run(Context, loss, f, inputs);
        FixtureLayer.AssertOutput(res, f);
        FixtureLayer.AssertGradient(res.InputGradients[0], f, "grad_pred");
    }

    [Test]
    public void PredictionTargetMismatch_NamesTheLayer()
    {
        var shapes = new[] { new Shape(2, 3), new Shape(3, 2) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new MseLoss(), shapes, new[] { new float[6], new float[6] }));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,3]").And.Contain("[3,2]"));
        Assert.Throws<GraphException>(() => new L1Loss().OutputShape(shapes));
    }

    [Test]
    public void MaskOfAnotherShape_NamesTheLayer()
    {
        var shapes = new[] { new Shape(2, 3, 4, 4), new Shape(2, 3, 4, 4), new Shape(2, 2, 4, 4) };
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new MaskedL1Loss(), shapes, shapes.Select(s => new float[s.Elements]).ToArray()));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("[2,2,4,4]").And.Contain("[2,1,4,4]"));
        Assert.Throws<GraphException>(() => new MaskedMseLoss().OutputShape(new[] { new Shape(2, 3, 4, 4), new Shape(2, 3, 4, 4), new Shape(1, 1, 4, 4) }));
    }
}
