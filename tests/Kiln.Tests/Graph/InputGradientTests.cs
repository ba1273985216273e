using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The input gradients a training plan keeps (CompileOptions.InputGradients): all of them, or those named
/// (InputGradientNames), the others costing no backward pass; an f32 gradient is kept where it was written, with no copy.
/// </summary>
public sealed class InputGradientTests : GpuTest
{
    /// <summary>x -> conv -> tanh, MSE against target.</summary>
    static Network Net()
    {
        var net = new Network();
        var y = net.Add(new Tanh(), "act", net.Add(new Conv2d(3, 4, 3, padding: 1), "conv", net.Input("x")));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return net;
    }

    static readonly Dictionary<string, Shape> Shapes = new() { ["x"] = new(2, 3, 6, 5), ["target"] = new(2, 4, 6, 5) };

    static (Dictionary<string, float[]> Gradients, PlanReport Plan) Step(Precision precision, IReadOnlyCollection<string>? names)
    {
        using var compiled = Net().Compile(Context, new CompileOptions
        {
            InputShapes = Shapes, Training = true, InputGradients = true, InputGradientNames = names, LearningRate = 0, Precision = precision,
            LossScaling = LossScaling.Off,
        });
        foreach (var (name, shape) in Shapes)
            compiled.SetInput(name, Reference.RandomData.Uniform((int)shape.Elements, name[0]).Select(v => (float)v).ToArray());
        compiled.Run();
        return (compiled.InputGradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), compiled.Plan);
    }

    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void NamedInputs_OnlyTheirGradients_TheSameValues(Precision precision)
    {
        var (all, allPlan) = Step(precision, null);
        var (named, plan) = Step(precision, new[] { "x" });
        Assert.That(all.Keys, Is.EquivalentTo(new[] { "x", "target" }));
        Assert.That(named.Keys, Is.EqualTo(new[] { "x" }));
        Assert.That(named["x"], Is.EqualTo(all["x"]).AsCollection, "x's gradient, bit for bit");
        Assert.That(named["x"].Any(v => v != 0), "not all zeros");
        Assert.That(allPlan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("loss.bwd1"), "the target's gradient");
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("loss.bwd1").And.None.StartWith("target.grad"));
    }

    /// <summary>At f32 the gradient is what the host reads: the dispatch that computes it writes the kept tensor (no
    /// ".grad.keep" copy); at f16 it is converted to f32 in one pass.</summary>
    [Test]
    public void AnF32Gradient_IsKeptWhereItIsWritten()
    {
        var (_, f32) = Step(Precision.Fp32, new[] { "x" });
        var (_, f16) = Step(Precision.Fp16, new[] { "x" });
        Assert.That(f32.Dispatches.Select(d => d.Label), Has.None.EndWith(".grad.keep"));
        Assert.That(f16.Dispatches.Select(d => d.Label), Has.One.EqualTo("x.grad.keep"));
    }

    [Test]
    public void BadNames_AreClearErrors()
    {
        var unknown = Assert.Throws<ArgumentException>(() => Net().Compile(Context, new CompileOptions
        {
            InputShapes = Shapes, Training = true, InputGradients = true, InputGradientNames = new[] { "z" },
        }).Dispose());
        Assert.That(unknown!.Message, Does.Contain("'z'").And.Contain("x, target"));
        var without = Assert.Throws<ArgumentException>(() => Net().Compile(Context, new CompileOptions
        {
            InputShapes = Shapes, Training = true, InputGradientNames = new[] { "x" },
        }).Dispose());
        Assert.That(without!.Message, Does.Contain("InputGradients = true"));
    }
}
