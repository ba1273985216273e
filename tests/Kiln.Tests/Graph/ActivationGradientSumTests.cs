using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// A fused activation whose output several layers read (a skip connection's source) takes the last two parts of its
/// gradient in its own pass (elementwise/unary.bwd with SUM): dx = (g1 + g2) op'(y), one pass and one level fewer than a
/// sum then the activation's gradient. The gradients equal those of the unfused plan, which sums first and then runs
/// the activation layer's gradient: bit for bit at f32, where both add the same two f32 values; within f16 storage's
/// tolerance at f16, where the fused pass skips rounding the sum to f16.
/// </summary>
public sealed class ActivationGradientSumTests : GpuTest
{
    /// <summary>y0 = act(conv0(x)) read by <paramref name="readers"/> layers: conv1, conv2 (three readers), and a concat.</summary>
    static Network Build(int readers, Layer activation)
    {
        var net = new Network();
        var y0 = net.Add(activation, "act0", net.Add(new Conv2d(3, 3, 3, padding: 1), "conv0", net.Input("x")));
        var y1 = net.Add(new ReLU(), "act1", net.Add(new Conv2d(3, 3, 3, padding: 1), "conv1", y0));
        var joined = net.Add(new Concat(), "cat", y0, y1);
        if (readers == 3) joined = net.Add(new Concat(), "cat2", joined, net.Add(new Conv2d(3, 2, 1), "conv2", y0));
        var y = net.Add(new Conv2d(readers == 3 ? 8 : 6, 2, 3, padding: 1), "head", joined);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return net;
    }

    static (Dictionary<string, float[]> Grads, PlanReport Plan) Run(int readers, Layer activation, bool fuse, Precision precision)
    {
        using var c = Build(readers, activation).Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, 3, 5, 7), ["target"] = new Shape(1, 2, 5, 7) },
            Training = true, InputGradients = true, LearningRate = 0, Fuse = fuse, Precision = precision, LossScaling = LossScaling.Off,
        });
        int seed = 3;
        c.SetInput("x", RandomData.Uniform(105, seed++).Select(v => (float)v).ToArray());
        c.SetInput("target", RandomData.Uniform(70, seed++).Select(v => (float)v).ToArray());
        foreach (var (_, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.5, 0.5).Select(v => (float)v).ToArray());
        c.Run();
        var grads = c.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        grads["x"] = c.InputGradients["x"].ToArray();
        return (grads, c.Plan);
    }

    [TestCase(2, Precision.Fp32)]
    [TestCase(3, Precision.Fp32)]
    [TestCase(2, Precision.Fp16)]
    [TestCase(3, Precision.Fp16)]
    public void FusedActivation_SumsItsLastTwoGradientsInItsOwnPass(int readers, Precision precision)
    {
        var (fused, plan) = Run(readers, new ReLU(), true, precision);
        var (plain, _) = Run(readers, new ReLU(), false, precision);
        var act = plan.Dispatches.Single(d => d.Label == "conv0.act.bwd");
        Assert.That(act.Reads.Count(r => r.Contains("grad")), Is.EqualTo(2), "the activation's gradient reads two parts: " + string.Join(", ", act.Reads));
        Assert.That(plan.Dispatches.Count(d => d.Label.StartsWith("conv0.grad.sum")), Is.EqualTo(readers - 2), "the parts before the last two are summed first");
        Assert.That(fused.Keys, Is.EquivalentTo(plain.Keys));
        foreach (var (name, g) in plain)
        {
            Assert.That(g.Any(v => v != 0), $"{name} is not all zeros");
            if (precision == Precision.Fp32) Assert.That(fused[name], Is.EqualTo(g), name);
            else F16StorageCheck.Close(fused[name], g, Tolerances.F16Storage, name);
        }
    }

    /// <summary>Sigmoid's derivative y (1 - y) on the summed gradient, against the unfused plan at f32.</summary>
    [Test]
    public void Sigmoid_TwoReaders_MatchesTheUnfusedPlan()
    {
        var (fused, _) = Run(2, new Sigmoid(), true, Precision.Fp32);
        var (plain, _) = Run(2, new Sigmoid(), false, Precision.Fp32);
        foreach (var (name, g) in plain) Assert.That(fused[name], Is.EqualTo(g), name);
    }
}
