using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// reduce/partials with several lanes per output (the GPU's <see cref="SplitReduction"/>, forced on lavapipe): a linear
/// forward whose K splits 1024 ways into 8 outputs (bias fused), and a one-channel convolution whose bias gradient
/// splits over 128 images, against the double CPU references.
/// </summary>
public sealed class PartialSumsLanesTests : GpuTest
{
    [Test]
    public void LanesFollowTheSplits()
    {
        var split = new SplitReduction();
        Assert.That(new[] { 1, 63, 64, 256, 1024, 4096 }.Select(split.PartialLanes), Is.EqualTo(new[] { 1, 1, 4, 16, 32, 32 }));
        Assert.That(new SingleGroupReduction().PartialLanes(4096), Is.EqualTo(1));
    }

    [Test]
    public void LinearLongK_FewOutputs_MatchesReference()
    {
        const int n = 4, inF = 65536 + 37, outF = 2;
        int r = 8800;
        var x = FixtureLayer.Uniform(n * inF, r++);
        var w = FixtureLayer.Uniform(outF * inF, r++);
        var b = FixtureLayer.Uniform(outF, r++);
        var net = new Network();
        net.Output(net.Add(new Linear(inF, outF), "layer", net.Input("x")), "y");
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, inF) },
            PreferKernels = new[] { "SplitReduction" },
        });
        Assert.That(compiled.Plan.Dispatches.Select(d => d.Label), Does.Contain("layer.fwd.sum"), "K is split");
        compiled.SetInput("x", x);
        compiled.Parameters["layer.weight"].Upload(w);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();
        var expected = RefLinear.Forward(ConvTest.D(x), ConvTest.D(w), ConvTest.D(b), n, inF, outF);
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void ConvBiasGradient_ManyImages_MatchesReference()
    {
        const int n = 128, c = 1, h = 6, wd = 6;
        int r = 8900;
        var layer = new Conv2d(c, 1, 3, 1, 1);
        var xShape = new Shape(n, c, h, wd);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform(9, r++);
        var b = FixtureLayer.Uniform(1, r++);
        var gy = FixtureLayer.Uniform(n * h * wd, r++);
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = new Shape(n, 1, h, wd) },
            Training = true, InputGradients = true, LearningRate = 0f, Fuse = false,
            PreferKernels = new[] { "SplitReduction" },
        });
        Assert.That(compiled.Plan.Dispatches.Count(d => d.Kernel == "reduce/partials"), Is.GreaterThan(0), "a split gradient");
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["layer.weight"].Upload(wt);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();
        var spec = new Conv2dSpec(n, c, h, wd, 1, 3, 3, 1, 1, 1, 1);
        var (_, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.weight"].ToArray(), gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.bias"].ToArray(), gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }
}
