using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// One layer "layer" on input "x" in a compiled training step (loss sum(y * grad_y), learning rate 0), kept open
/// for several steps: what <see cref="LayerHarness"/> does once, for layers with per-step behaviour (Dropout's
/// masks, BatchNorm's running statistics).
/// </summary>
internal sealed class TrainingRig : IDisposable
{
    readonly CompiledNetwork compiled;

    public TrainingRig(GpuContext context, Layer layer, Shape shape, int seed = 0)
    {
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        compiled = net.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["grad_y"] = layer.OutputShape(new[] { shape }) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
            Fuse = false,
            Seed = seed,
        });
    }

    public void SetParameter(string name, float[] data) => compiled.Parameters[$"layer.{name}"].Upload(data);
    public float[] Parameter(string name) => compiled.Parameters[$"layer.{name}"].ToArray();
    public float[] Gradient(string name) => compiled.Gradients[$"layer.{name}"].ToArray();

    /// <summary>Runs one step; returns y and the gradient of x.</summary>
    public (float[] Y, float[] GradX) Step(float[] x, float[] gradY)
    {
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gradY);
        compiled.Run();
        return (compiled.GetOutput("y"), compiled.InputGradients["x"].ToArray());
    }

    public void Dispose() => compiled.Dispose();
}

public sealed class DropoutTests : GpuTest
{
    static double[] D(float[] v) => ConvTest.D(v);

    [Test]
    public void EvalIsIdentity()
    {
        var x = FixtureLayer.Uniform(2 * 3 * 4 * 5, 1);
        var res = LayerHarness.Run(Context, new Dropout(0.5f), new[] { new Shape(2, 3, 4, 5) }, new[] { x });
        Assert.That(res.Output, Is.EqualTo(x));
    }

    [TestCase(0.5f, 2, 3, 8, 8)]
    [TestCase(0.2f, 4, 33, 0, 0)]
    [TestCase(0f, 3, 5, 0, 0)]
    public void TrainingMatchesReferenceMask(float p, int n, int c, int h, int w)
    {
        var shape = h == 0 ? new Shape(n, c) : new Shape(n, c, h, w);
        var x = FixtureLayer.Uniform(shape.Elements, 2);
        var gy = FixtureLayer.Uniform(shape.Elements, 3);
        var res = LayerHarness.Run(Context, new Dropout(p), new[] { shape }, new[] { x }, null, gy);
        // The harness compiles with seed 0 and runs step 0.
        Assert.That(RelativeError.MaxRelative(res.Output, RefDropout.Forward(D(x), p, 0, 0)), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(res.InputGradients[0], RefDropout.Backward(D(gy), p, 0, 0)), Is.LessThan(Tolerances.Gradient), "grad_x");
    }

    [TestCase(0.5f)]
    [TestCase(0.25f)]
    public void TrainingKeepsAboutOneMinusPScaled(float p)
    {
        var shape = new Shape(4, 16, 16, 16);
        var ones = Enumerable.Repeat(1f, (int)shape.Elements).ToArray();
        var res = LayerHarness.Run(Context, new Dropout(p), new[] { shape }, new[] { ones }, null, ones);
        float scale = 1f / (1f - p);
        Assert.That(res.Output.All(v => v == 0f || Math.Abs(v - scale) < 1e-6f), "kept elements are scaled by 1/(1-p)");
        double kept = res.Output.Count(v => v != 0f) / (double)shape.Elements;
        Assert.That(kept, Is.EqualTo(1 - p).Within(0.02));
        Assert.That(res.InputGradients[0], Is.EqualTo(res.Output), "gradient is the mask times grad_y");
    }

    [Test]
    public void ConsecutiveStepsUseDifferentMasks()
    {
        var shape = new Shape(2, 64);
        var x = FixtureLayer.Uniform(shape.Elements, 4);
        var gy = FixtureLayer.Uniform(shape.Elements, 5);
        using var rig = new TrainingRig(Context, new Dropout(0.5f), shape, seed: 9);
        var (y0, g0) = rig.Step(x, gy);
        var (y1, g1) = rig.Step(x, gy);
        Assert.That(y1, Is.Not.EqualTo(y0));
        for (uint step = 0; step < 2; step++)
        {
            var (y, g) = step == 0 ? (y0, g0) : (y1, g1);
            Assert.That(RelativeError.MaxRelative(y, RefDropout.Forward(D(x), 0.5, 9, step)), Is.LessThan(Tolerances.Forward), $"y step {step}");
            Assert.That(RelativeError.MaxRelative(g, RefDropout.Backward(D(gy), 0.5, 9, step)), Is.LessThan(Tolerances.Gradient), $"grad_x step {step}");
        }
    }

    [Test]
    public void SameSeedReproduces()
    {
        var shape = new Shape(3, 50);
        var x = FixtureLayer.Uniform(shape.Elements, 6);
        float[][] Run(int seed)
        {
            using var rig = new TrainingRig(Context, new Dropout(0.3f), shape, seed);
            return new[] { rig.Step(x, x).Y, rig.Step(x, x).Y };
        }
        var a = Run(17);
        Assert.That(Run(17), Is.EqualTo(a));
        Assert.That(Run(18)[0], Is.Not.EqualTo(a[0]));
    }

    [TestCase(-0.1f)]
    [TestCase(1f)]
    [TestCase(float.NaN)]
    public void ProbabilityOutsideZeroToOne_Throws(float p) =>
        Assert.Throws<ArgumentException>(() => new Dropout(p));
}
