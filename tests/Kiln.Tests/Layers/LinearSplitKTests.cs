using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// linear.gemm's split of K (partial products per chunk of K, added in order by reduce/partials with the bias and
/// the fused activation): the fashion-ae bottleneck shapes that take it, against the double CPU reference.
/// </summary>
public sealed class LinearSplitKTests : GpuTest
{
    // n, in, out, ReLU fused after, the products expected to split K
    [TestCase(128, 1568, 32, false, new[] { "layer.fwd.sum", "layer.bwd_weight.sum" }, TestName = "Encoder_1568To32_SplitsForwardAndWeightGradient")]
    [TestCase(128, 1568, 32, true, new[] { "layer.fwd.sum", "layer.bwd_weight.sum" }, TestName = "Encoder_1568To32_WithReLU_SplitsForwardAndWeightGradient")]
    [TestCase(128, 32, 1568, true, new[] { "layer.bwd_input.sum", "layer.bwd_weight.sum" }, TestName = "Decoder_32To1568_WithReLU_SplitsInputAndWeightGradients")]
    public void MatchesReference(int n, int inF, int outF, bool relu, string[] splitLabels)
    {
        int r = 5150 + inF + outF + (relu ? 1 : 0);
        var x = FixtureLayer.Uniform(n * inF, r++);
        var w = FixtureLayer.Uniform(outF * inF, r++);
        var b = FixtureLayer.Uniform(outF, r++);
        var gy = FixtureLayer.Uniform(n * outF, r++);

        var net = new Network();
        var y = net.Add(new Linear(inF, outF), "layer", net.Input("x"));
        if (relu) y = net.Add(new ReLU(), "act", y);
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, inF), ["grad_y"] = new Shape(n, outF) },
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
        });
        var sums = compiled.Plan.Dispatches.Where(d => d.Kernel == "reduce/partials").Select(d => d.Label).ToArray();
        Assert.That(sums, Is.EquivalentTo(splitLabels), "the products that split K");
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Parameters["layer.weight"].Upload(w);
        compiled.Parameters["layer.bias"].Upload(b);
        compiled.Run();

        var pre = RefLinear.Forward(ConvTest.D(x), ConvTest.D(w), ConvTest.D(b), n, inF, outF);
        var expected = relu ? pre.Select(v => Math.Max(v, 0)).ToArray() : pre;
        var gPre = relu ? pre.Select((v, i) => v > 0 ? gy[i] : 0.0).ToArray() : ConvTest.D(gy);
        var (gx, gw, gb) = RefLinear.Backward(ConvTest.D(x), ConvTest.D(w), gPre, n, inF, outF);
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), expected), Is.LessThan(Tolerances.Forward), "y");
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["x"].ToArray(), gx), Is.LessThan(Tolerances.Gradient), "grad_x");
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.weight"].ToArray(), gw), Is.LessThan(Tolerances.Gradient), "grad_weight");
        Assert.That(RelativeError.MaxRelative(compiled.Gradients["layer.bias"].ToArray(), gb), Is.LessThan(Tolerances.Gradient), "grad_bias");
    }
}
