using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class BatchNorm2dTests : GpuTest
{
    static double[] D(float[] v) => ConvTest.D(v);
    static double[] Ones(int c) => Enumerable.Repeat(1.0, c).ToArray();

    [TestCase(3, 4, 5, 6)]
    [TestCase(8, 3, 1, 1)]
    [TestCase(2, 2, 13, 11)]
    [TestCase(1, 70, 3, 3)]
    // More than one chunk of 4096 values a channel (shaders/batchnorm/batchnorm.stats.comp): 3 (the last of 1024), and 2 (of 455).
    [TestCase(2, 3, 64, 72)]
    [TestCase(3, 2, 37, 41)]
    public void TrainingForwardBackwardAndRunningStatisticsMatchReference(int n, int c, int h, int w)
    {
        int hw = h * w, r = 500 + n * 13 + c;
        var shape = new Shape(n, c, h, w);
        var x = FixtureLayer.Uniform(shape.Elements, r++).Select(v => v * 2 + 0.5f).ToArray();
        var weight = FixtureLayer.Uniform(c, r++).Select(v => v * 0.5f + 1f).ToArray();
        var bias = FixtureLayer.Uniform(c, r++);
        var gy = FixtureLayer.Uniform(shape.Elements, r++);
        using var rig = new TrainingRig(Context, new BatchNorm2d(c), shape);
        rig.SetParameter("weight", weight);
        rig.SetParameter("bias", bias);
        var (y, gx) = rig.Step(x, gy);

        Assert.That(RelativeError.MaxRelative(y, RefBatchNorm2d.ForwardTraining(D(x), D(weight), D(bias), n, c, hw)), Is.LessThan(Tolerances.Forward), "y");
        var (rgx, rgw, rgb) = RefBatchNorm2d.BackwardTraining(D(x), D(weight), D(gy), n, c, hw);
        Assert.That(RelativeError.MaxRelative(gx, rgx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(rig.Gradient("weight"), rgw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(rig.Gradient("bias"), rgb), Is.LessThan(Tolerances.Gradient), "grad_bias");

        var (rm, rv) = RefBatchNorm2d.UpdateRunning(D(x), new double[c], Ones(c), n, c, hw);
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_mean"), rm), Is.LessThan(Tolerances.Forward), "running_mean");
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_var"), rv), Is.LessThan(Tolerances.Forward), "running_var");
    }

    [Test]
    public void RunningStatisticsAccumulateOverSteps()
    {
        int n = 2, c = 3, hw = 4;
        var shape = new Shape(n, c, 2, 2);
        var x0 = FixtureLayer.Uniform(shape.Elements, 1);
        var x1 = FixtureLayer.Uniform(shape.Elements, 2).Select(v => v * 3 - 1).ToArray();
        using var rig = new TrainingRig(Context, new BatchNorm2d(c, momentum: 0.25f), shape);
        rig.Step(x0, x0);
        rig.Step(x1, x1);
        var (rm, rv) = RefBatchNorm2d.UpdateRunning(D(x0), new double[c], Ones(c), n, c, hw, 0.25);
        (rm, rv) = RefBatchNorm2d.UpdateRunning(D(x1), rm, rv, n, c, hw, 0.25);
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_mean"), rm), Is.LessThan(Tolerances.Forward), "running_mean");
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_var"), rv), Is.LessThan(Tolerances.Forward), "running_var");
    }

    [Test]
    public void EvalUsesRunningStatistics()
    {
        int n = 2, c = 5, h = 3, w = 4;
        var x = FixtureLayer.Uniform(n * c * h * w, 31);
        var weight = FixtureLayer.Uniform(c, 32);
        var bias = FixtureLayer.Uniform(c, 33);
        var rm = FixtureLayer.Uniform(c, 34).Select(v => v * 0.5f).ToArray();
        var rv = FixtureLayer.Uniform(c, 35).Select(v => v * 0.5f + 1f).ToArray();
        var res = LayerHarness.Run(Context, new BatchNorm2d(c), new[] { new Shape(n, c, h, w) }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = weight, ["bias"] = bias, ["running_mean"] = rm, ["running_var"] = rv });
        var y = RefBatchNorm2d.ForwardEval(D(x), D(weight), D(bias), D(rm), D(rv), n, c, h * w);
        Assert.That(RelativeError.MaxRelative(res.Output, y), Is.LessThan(Tolerances.Forward));
    }

    [TestCase(2, 5, 3, 4)]
    [TestCase(1, 3, 1, 1)]   // one value per channel: fine for the evaluation form
    [TestCase(4, 70, 9, 9)]
    [TestCase(2, 3, 64, 72)] // 3 chunks a channel in the gradient's sums
    public void RunningStatisticsForm_TrainsWithTheEvalGradientAndKeepsItsStatistics(int n, int c, int h, int w)
    {
        int hw = h * w, r = 900 + n + c;
        var shape = new Shape(n, c, h, w);
        var x = FixtureLayer.Uniform(shape.Elements, r++).Select(v => v * 2 + 0.5f).ToArray();
        var weight = FixtureLayer.Uniform(c, r++).Select(v => v * 1.5f).ToArray();
        var bias = FixtureLayer.Uniform(c, r++);
        var rm = FixtureLayer.Uniform(c, r++).Select(v => v * 0.5f).ToArray();
        var rv = FixtureLayer.Uniform(c, r++).Select(v => v * 0.9f + 1f).ToArray();
        var gy = FixtureLayer.Uniform(shape.Elements, r++);
        using var rig = new TrainingRig(Context, new BatchNorm2d(c, useRunningStatistics: true), shape);
        rig.SetParameter("weight", weight);
        rig.SetParameter("bias", bias);
        rig.SetParameter("running_mean", rm);
        rig.SetParameter("running_var", rv);
        var (y, gx) = rig.Step(x, gy);

        Assert.That(RelativeError.MaxRelative(y, RefBatchNorm2d.ForwardEval(D(x), D(weight), D(bias), D(rm), D(rv), n, c, hw)), Is.LessThan(Tolerances.Forward), "y");
        var (rgx, rgw, rgb) = RefBatchNorm2d.BackwardEval(D(x), D(weight), D(rm), D(rv), D(gy), n, c, hw);
        Assert.That(RelativeError.MaxRelative(gx, rgx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(rig.Gradient("weight"), rgw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(rig.Gradient("bias"), rgb), Is.LessThan(Tolerances.Gradient), "grad_bias");
        Assert.That(rig.Parameter("running_mean"), Is.EqualTo(rm), "running_mean unchanged");
        Assert.That(rig.Parameter("running_var"), Is.EqualTo(rv), "running_var unchanged");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "batch_norm2d" })]
    public void MatchesPyTorch(Fixture f)
    {
        var shape = new Shape(f["x"].Shape);
        var layer = new BatchNorm2d(shape[1], (float)f.Double("eps"), (float)f.Double("momentum"));
        if (!f.Bool("training"))
        {
            var ps = FixtureLayer.Parameters(f);
            ps["running_mean"] = f["running_mean"].Floats;
            ps["running_var"] = f["running_var"].Floats;
            var res = LayerHarness.Run(Context, layer, new[] { shape }, new[] { f["x"].Floats }, ps);
            FixtureLayer.AssertOutput(res, f);
            // The evaluation form differentiated: PyTorch's gradients with training=False.
            var frozen = new BatchNorm2d(shape[1], (float)f.Double("eps"), (float)f.Double("momentum"), useRunningStatistics: true);
            var grads = LayerHarness.Run(Context, frozen, new[] { shape }, new[] { f["x"].Floats }, ps, f["grad_y"].Floats);
            FixtureLayer.AssertAll(grads, f, "x");
            return;
        }
        using var rig = new TrainingRig(Context, layer, shape);
        rig.SetParameter("weight", f["weight"].Floats);
        rig.SetParameter("bias", f["bias"].Floats);
        var (y, gx) = rig.Step(f["x"].Floats, f["grad_y"].Floats);
        Assert.That(RelativeError.MaxRelative(y, f["y"].Data), Is.LessThan(Tolerances.Forward), "y");
        FixtureLayer.AssertGradient(gx, f, "grad_x");
        FixtureLayer.AssertGradient(rig.Gradient("weight"), f, "grad_weight");
        FixtureLayer.AssertGradient(rig.Gradient("bias"), f, "grad_bias");
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_mean"), f["running_mean_after"].Data), Is.LessThan(Tolerances.Forward), "running_mean");
        Assert.That(RelativeError.MaxRelative(rig.Parameter("running_var"), f["running_var_after"].Data), Is.LessThan(Tolerances.Forward), "running_var");
    }

    /// <summary>As the first layer of a network its input needs no gradient: weight and bias gradients still come out right.</summary>
    [Test]
    public void ParameterGradientsWithoutInputGradient()
    {
        int n = 2, c = 3, hw = 6;
        var shape = new Shape(n, c, 2, 3);
        var x = FixtureLayer.Uniform(shape.Elements, 41);
        var gy = FixtureLayer.Uniform(shape.Elements, 42);
        var net = new Network();
        var y = net.Add(new BatchNorm2d(c), "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["grad_y"] = shape },
            Training = true,
            LearningRate = 0f,
        });
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Run();
        var (_, rgw, rgb) = RefBatchNorm2d.BackwardTraining(D(x), Ones(c), D(gy), n, c, hw);
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.weight"].ToArray(), rgw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.bias"].ToArray(), rgb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }

    [Test]
    public void StartsAsPyTorchDoes()
    {
        using var rig = new TrainingRig(Context, new BatchNorm2d(3), new Shape(2, 3, 2, 2));
        Assert.That(rig.Parameter("weight"), Is.EqualTo(new[] { 1f, 1f, 1f }));
        Assert.That(rig.Parameter("bias"), Is.EqualTo(new[] { 0f, 0f, 0f }));
        Assert.That(rig.Parameter("running_mean"), Is.EqualTo(new[] { 0f, 0f, 0f }));
        Assert.That(rig.Parameter("running_var"), Is.EqualTo(new[] { 1f, 1f, 1f }));
    }

    [Test]
    public void RunningStatisticsGetNoGradient()
    {
        var res = LayerHarness.Run(Context, new BatchNorm2d(2), new[] { new Shape(2, 2, 2, 2) }, new[] { FixtureLayer.Uniform(16, 3) },
            null, FixtureLayer.Uniform(16, 4));
        Assert.That(res.ParameterGradients.Keys, Is.EquivalentTo(new[] { "weight", "bias" }));
    }

    [Test]
    public void WrongChannels_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new BatchNorm2d(4), new[] { new Shape(2, 3, 2, 2) }, new[] { new float[24] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("4 channels").And.Contain("[2,3,2,2]"));
    }

    [Test]
    public void MatrixInput_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new BatchNorm2d(3), new[] { new Shape(2, 3) }, new[] { new float[6] }));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("[2,3]"));
    }

    [Test]
    public void TrainingOnOneValuePerChannel_NamesTheLayer()
    {
        var e = Assert.Throws<GraphException>(() => LayerHarness.Run(Context, new BatchNorm2d(3), new[] { new Shape(1, 3, 1, 1) },
            new[] { new float[3] }, null, new float[3]));
        Assert.That(e!.Message, Does.Contain("layer").And.Contain("more than one value"));
    }

    [TestCase(0)]
    [TestCase(-2)]
    public void NonPositiveFeatures_Throws(int c) => Assert.Throws<ArgumentException>(() => new BatchNorm2d(c));
}
