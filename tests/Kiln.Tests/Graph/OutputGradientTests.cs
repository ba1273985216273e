using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// A backward pass that starts from a given output gradient (Network.SetOutputGradient) in place of a loss, and steps that
/// update no parameters (CompileOptions.UpdateParameters false): the gradients are those of a DotLoss against the same
/// gradient, bit for bit (the dot loss's gradient is its weights input exactly), without the loss's passes; the
/// parameters stay as they are unless the step updates them; loss scaling never applies; misuse is a clear error.
/// (Every layer's PyTorch fixture test runs this path too: Layers/LayerHarness.)
/// </summary>
public sealed class OutputGradientTests : GpuTest
{
    static readonly Shape X = new(2, 3, 6, 5), Y = new(2, 4, 6, 5);

    /// <summary>x -> conv c1 -> ReLU: h; conv c2 of h plus h (a skip); conv c3 -> tanh: y. The ReLU and the tanh fold into
    /// their convolutions, so the seeded node is a fused activation's.</summary>
    static (Network Net, Node Y) Build()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "r1", net.Add(new Conv2d(3, 4, 3, padding: 1), "c1", net.Input("x")));
        var sum = net.Add(new Add(), "sum", net.Add(new Conv2d(4, 4, 3, padding: 1), "c2", h), h);
        var y = net.Add(new Tanh(), "t", net.Add(new Conv2d(4, 4, 1), "c3", sum));
        return (net, y);
    }

    static Network Seeded()
    {
        var (net, y) = Build();
        net.SetOutputGradient(y, net.Input("g"));
        return net;
    }

    static Network WithDotLoss()
    {
        var (net, y) = Build();
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        return net;
    }

    static CompileOptions Options(Precision precision, bool update = false, TensorLayout layout = TensorLayout.Nchw, LossScaling? scaling = null) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = X, ["g"] = Y },
        Training = true, UpdateParameters = update, InputGradients = true, InputGradientNames = new[] { "x" },
        Precision = precision, ActivationLayout = layout, LossScaling = scaling, LearningRate = 0.5f, Seed = 3,
    };

    sealed record Result(Dictionary<string, float[]> Gradients, float[] InputGradient, Dictionary<string, float[]> Parameters, PlanReport Plan);

    static Result Step(Network net, CompileOptions options)
    {
        using var compiled = net.Compile(Context, options);
        compiled.SetInput("x", Reference.RandomData.Uniform((int)X.Elements, 1).Select(v => (float)v).ToArray());
        compiled.SetInput("g", Reference.RandomData.Uniform((int)Y.Elements, 2).Select(v => (float)v).ToArray());
        compiled.Run();
        return new Result(compiled.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), compiled.InputGradients["x"].ToArray(),
            compiled.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), compiled.Plan);
    }

    [TestCase(Precision.Fp32, TensorLayout.Nchw)]
    [TestCase(Precision.Fp16, TensorLayout.Nchw)]
    [TestCase(Precision.Fp32, TensorLayout.Nhwc)]
    public void Gradients_AreTheDotLossOnes_BitForBit(Precision precision, TensorLayout layout)
    {
        var seeded = Step(Seeded(), Options(precision, layout: layout));
        var dot = Step(WithDotLoss(), Options(precision, layout: layout, scaling: LossScaling.Off));
        Assert.That(seeded.Gradients.Keys, Is.EquivalentTo(new[] { "c1.weight", "c1.bias", "c2.weight", "c2.bias", "c3.weight", "c3.bias" }));
        foreach (var (name, g) in dot.Gradients)
        {
            Assert.That(seeded.Gradients[name], Is.EqualTo(g).AsCollection, name);
            Assert.That(g.Any(v => v != 0), $"{name}: not all zeros");
        }
        Assert.That(seeded.InputGradient, Is.EqualTo(dot.InputGradient).AsCollection, "x's gradient");
        Assert.That(seeded.InputGradient.Any(v => v != 0), "x's gradient: not all zeros");
    }

    /// <summary>The seeded step runs no loss and, updating nothing, no optimizer: of the update phase only the step
    /// counter's advance is left. The forward's convolutions and their gradients are the same dispatches.</summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void TheStep_HasNoLossNorUpdate(Precision precision)
    {
        var seeded = Step(Seeded(), Options(precision)).Plan;
        var dot = Step(WithDotLoss(), Options(precision, scaling: LossScaling.Off)).Plan;
        Assert.That(seeded.Dispatches.Select(d => d.Label), Has.None.StartWith("loss"));
        Assert.That(seeded.Dispatches.Where(d => d.Phase == "update").Select(d => d.Label), Is.EqualTo(new[] { "step_state.advance" }));
        Assert.That(seeded.Dispatches.Select(d => d.Kernel).Where(k => k != "optim/step_state"), Has.None.StartWith("optim/"));
        Assert.That(seeded.Dispatches.Select(d => d.Label), Has.None.StartWith("t.fwd"), "the tanh is fused into c3");
        var convs = (PlanReport p) => p.Dispatches.Where(d => d.Label.StartsWith("c")).Select(d => (d.Label, d.Kernel)).ToList();
        Assert.That(convs(seeded), Is.EqualTo(convs(dot)));
        Assert.That(seeded.Dispatches.Count, Is.LessThan(dot.Dispatches.Count));
    }

    [Test]
    public void WithoutUpdate_TheParametersStay_WithUpdate_SgdTakesTheSeededGradients()
    {
        var initial = Step(Seeded(), Options(Precision.Fp32, update: false));
        using (var fresh = Seeded().Compile(Context, Options(Precision.Fp32)))
            foreach (var (name, p) in initial.Parameters)
                Assert.That(p, Is.EqualTo(fresh.Parameters[name].ToArray()).AsCollection, $"{name}: left as initialised");

        var updated = Step(Seeded(), Options(Precision.Fp32, update: true));
        foreach (var (name, p) in initial.Parameters)
        {
            var expected = p.Select((v, i) => v - 0.5f * initial.Gradients[name][i]).ToArray();
            Assert.That(updated.Parameters[name], Is.EqualTo(expected).Within(1e-6f).AsCollection, $"{name}: p - lr g");
        }
        Assert.That(updated.Plan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("c1.weight.sgd"));
    }

    /// <summary>Under Fp16 no loss scale multiplies a given gradient (nothing would divide it out): the gradients are the
    /// f32 plan's within f16 rounding, not 65536 times them.</summary>
    [Test]
    public void Fp16_SeededGradients_AreNotScaled()
    {
        var f16 = Step(Seeded(), Options(Precision.Fp16, update: true));
        var f32 = Step(Seeded(), Options(Precision.Fp32, update: true));
        Assert.That(f16.Plan.Dispatches.Select(d => d.Label), Has.None.StartWith("loss_scale"));
        foreach (var (name, g) in f32.Gradients)
        {
            double scale = g.Max(Math.Abs);
            Assert.That(f16.Gradients[name].Zip(g, (a, b) => Math.Abs(a - b)).Max(), Is.LessThan(0.02 * scale), name);
        }
    }

    [Test]
    public void Misuse_IsAClearError()
    {
        var (net, y) = Build();
        net.SetOutputGradient(y, net.Input("g"));
        Assert.That(Assert.Throws<GraphException>(() => net.SetLoss(new DotLoss(), y, net.Input("g")))!.Message, Does.Contain("SetOutputGradient"));
        Assert.That(Assert.Throws<GraphException>(() => net.SetOutputGradient(y, net.Input("g")))!.Message, Does.Contain("already"));

        var (lossNet, lossY) = Build();
        lossNet.SetLoss(new DotLoss(), lossY, lossNet.Input("g"));
        Assert.That(Assert.Throws<GraphException>(() => lossNet.SetOutputGradient(lossY, lossNet.Input("g")))!.Message, Does.Contain("has a loss"));

        var (inputNet, _) = Build();
        Assert.That(Assert.Throws<GraphException>(() => inputNet.SetOutputGradient(inputNet.Input("x"), inputNet.Input("g")))!.Message, Does.Contain("is an input"));

        var wrongShape = Assert.Throws<GraphException>(() => Seeded().Compile(Context, Options(Precision.Fp32) with
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = X, ["g"] = new(2, 4, 6, 4) },
        }).Dispose());
        Assert.That(wrongShape!.Message, Does.Contain("input 'g'").And.Contain("[2,4,6,4]").And.Contain("must match"));

        var scaled = Assert.Throws<ArgumentException>(() => Seeded().Compile(Context, Options(Precision.Fp16, update: true, scaling: new LossScaling())).Dispose());
        Assert.That(scaled!.Message, Does.Contain("LossScaling").And.Contain("output gradient"));
        var notUpdated = Assert.Throws<ArgumentException>(() => WithDotLoss().Compile(Context, Options(Precision.Fp16, scaling: new LossScaling())).Dispose());
        Assert.That(notUpdated!.Message, Does.Contain("UpdateParameters false"));

        var (bare, bareY) = Build();
        bare.Output(bareY);
        var none = Assert.Throws<GraphException>(() => bare.Compile(Context, Options(Precision.Fp32) with
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = X },
        }).Dispose());
        Assert.That(none!.Message, Does.Contain("SetLoss").And.Contain("SetOutputGradient"));
    }
}
