using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// CompileOptions.F16InputsAndOutputs under Precision.Fp16: the inputs, named outputs and input gradients are f16 tensors,
/// and the step has no conversion pass at its edges. The host rounds its f32 inputs to f16 as the GPU's conversion
/// does (to nearest even) and widens what it reads exactly, so every value read back is the f32-edged plan's, bit for bit.
/// </summary>
public sealed class F16InputsAndOutputsTests : GpuTest
{
    static readonly string[] Conversions = { "elementwise/to_storage", "elementwise/from_storage", "transpose/layout.to_storage", "transpose/layout.from_storage" };

    static bool Converts(PlanReport plan) => plan.Dispatches.Any(d => Conversions.Any(c => d.Kernel.StartsWith(c, StringComparison.Ordinal)));

    /// <summary>x -> conv -> ReLU -> conv (the output y), MSE against target.</summary>
    static Network Net(bool loss)
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(3, 8, 3, padding: 1), "conv1", net.Input("x")));
        var y = net.Add(new Conv2d(8, 4, 3, padding: 1), "conv2", h);
        net.Output(y, "y");
        if (loss) net.SetLoss(new MseLoss(), y, net.Input("target"));
        return net;
    }

    static Dictionary<string, float[]> Run(Network net, Dictionary<string, Shape> shapes, bool f16Edges, bool training, TensorLayout layout,
        out CompiledNetwork compiledOut)
    {
        var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Training = training, InputGradients = training, LearningRate = 0, Precision = Precision.Fp16,
            F16InputsAndOutputs = f16Edges, LossScaling = LossScaling.Off, ActivationLayout = training ? null : layout,
        });
        foreach (var (name, shape) in shapes)
            compiled.SetInput(name, Reference.RandomData.Uniform((int)shape.Elements, name[0], -2, 2).Select(v => (float)v).ToArray());
        foreach (var (name, p) in compiled.Parameters)
            p.Upload(Reference.RandomData.Uniform((int)p.Shape.Elements, name.Length, -0.3, 0.3).Select(v => (float)v).ToArray());
        compiled.Run();
        var result = new Dictionary<string, float[]> { ["y"] = compiled.GetOutput("y") };
        if (training)
        {
            result["loss"] = compiled.GetOutput("loss");
            foreach (var (name, g) in compiled.InputGradients) result[$"grad {name}"] = g.ToArray();
            foreach (var (name, g) in compiled.Gradients) result[$"grad {name}"] = g.ToArray();
        }
        compiledOut = compiled;
        return result;
    }

    [Test]
    public void TrainingStep_NoConversionAtTheEdges_TheSameBits()
    {
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 7, 6), ["target"] = new(2, 4, 7, 6) };
        var edged = Run(Net(loss: true), shapes, f16Edges: true, training: true, TensorLayout.Nchw, out var compiled);
        using (compiled)
        {
            Assert.That(Converts(compiled.Plan), Is.False, string.Join(", ", compiled.Plan.Dispatches.Select(d => $"{d.Label}:{d.Kernel}")));
            Assert.That(compiled.Inputs.Values.Select(t => t.ElementType), Has.All.EqualTo(ElementType.F16));
            Assert.That(compiled.Outputs["y"].ElementType, Is.EqualTo(ElementType.F16));
            Assert.That(compiled.Outputs["loss"].ElementType, Is.EqualTo(ElementType.F32), "the loss stays f32");
            Assert.That(compiled.InputGradients["x"].ElementType, Is.EqualTo(ElementType.F16));
        }
        var plain = Run(Net(loss: true), shapes, f16Edges: false, training: true, TensorLayout.Nchw, out var plainCompiled);
        using (plainCompiled) Assert.That(Converts(plainCompiled.Plan), Is.True, "f32 edges convert");
        Assert.That(edged.Keys, Is.EquivalentTo(plain.Keys));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(edged[name], Is.EqualTo(values).AsCollection, name);
        }
    }

    /// <summary>Inference, NCHW and channels-last (the transposes in and out stay f16).</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void Inference_NoConversionAtTheEdges_TheSameBits(TensorLayout layout)
    {
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, 3, 9, 8) };
        var edged = Run(Net(loss: false), shapes, f16Edges: true, training: false, layout, out var compiled);
        using (compiled) Assert.That(Converts(compiled.Plan), Is.False, string.Join(", ", compiled.Plan.Dispatches.Select(d => $"{d.Label}:{d.Kernel}")));
        var plain = Run(Net(loss: false), shapes, f16Edges: false, training: false, layout, out var plainCompiled);
        plainCompiled.Dispose();
        Assert.That(edged["y"], Is.EqualTo(plain["y"]).AsCollection);
    }
}
