using NUnit.Framework;
using Kiln.Tests.Reference;
using Kiln.Tests.Layers;

namespace Kiln.Tests.Graph;

/// <summary>
/// The upsample-concat fusion pass (engine/Layers/UpsampleConcat.cs): a Concat input that is an Upsample used only there
/// is interpolated straight into the concat's channel slice, and its gradient gathered from the slice. The fused plan
/// must compute exactly what the unfused Upsample + Concat compute: outputs, input gradients and a following conv's
/// parameter gradients compared bit for bit against Fuse = false, for every mode, scales 2 and 3, the upsampled input
/// first, last or among three, at f32 and f16 activation storage.
/// </summary>
public sealed class UpsampleConcatFusionTests : GpuTest
{
    const int N = 2, H = 5, W = 4;

    /// <summary>"up_first": Concat(Up(a), b); "up_last": Concat(b, Up(a)); "three": Concat(Up(a), b, Up(c)).</summary>
    static (Network Net, Dictionary<string, Shape> Shapes) Build(string layout, UpsampleMode mode, int scale)
    {
        var net = new Network();
        var a = net.Input("a");
        var b = net.Input("b");
        var upA = net.Add(new Upsample(scale, mode), "up_a", a);
        var shapes = new Dictionary<string, Shape> { ["a"] = new(N, 3, H, W), ["b"] = new(N, 2, H * scale, W * scale) };
        Node cat;
        int channels = 5;
        switch (layout)
        {
            case "up_first": cat = net.Add(new Concat(), "cat", upA, b); break;
            case "up_last": cat = net.Add(new Concat(), "cat", b, upA); break;
            default:
                var upC = net.Add(new Upsample(scale, mode), "up_c", net.Input("c"));
                shapes["c"] = new(N, 4, H, W);
                channels = 9;
                cat = net.Add(new Concat(), "cat", upA, b, upC);
                break;
        }
        var y = net.Add(new Conv2d(channels, 3, 3, padding: 1), "conv", cat);
        net.Output(cat, "cat");
        net.Output(y, "y");
        shapes["target"] = new(N, 3, H * scale, W * scale);
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, shapes);
    }

    /// <summary>Compiles, fills inputs and parameters from fixed seeds, runs one step (learning rate 0) and reads everything back.</summary>
    static Dictionary<string, float[]> Run(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, out string[] kernels,
        out PlanReport plan)
    {
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0f, Fuse = fuse, Precision = precision,
        });
        int seed = 1;
        foreach (var (name, shape) in shapes.OrderBy(s => s.Key, StringComparer.Ordinal))
            compiled.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++).Select(v => (float)v).ToArray());
        foreach (var (_, t) in compiled.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.5, 0.5).Select(v => (float)v).ToArray());
        compiled.Run();
        var result = compiled.Outputs.ToDictionary(o => $"output {o.Key}", o => o.Value.ToArray());
        foreach (var (name, g) in compiled.InputGradients) result[$"gradient of input {name}"] = g.ToArray();
        foreach (var (name, g) in compiled.Gradients) result[$"gradient of {name}"] = g.ToArray();
        kernels = compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray();
        plan = compiled.Plan;
        return result;
    }

    static void AssertBitIdentical(Dictionary<string, float[]> fused, Dictionary<string, float[]> plain)
    {
        Assert.That(fused.Keys, Is.EquivalentTo(plain.Keys));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros (the comparison means something)");
            var f = fused[name];
            int bad = Enumerable.Range(0, values.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(f[i]) != BitConverter.SingleToInt32Bits(values[i]), -1);
            Assert.That(bad, Is.EqualTo(-1), $"{name}: element {bad} differs (fused {(bad >= 0 ? f[bad] : 0)}, unfused {(bad >= 0 ? values[bad] : 0)})");
        }
    }

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        foreach (var mode in new[] { UpsampleMode.Nearest, UpsampleMode.Bilinear, UpsampleMode.BilinearAlignCorners })
        foreach (var scale in new[] { 2, 3 })
        foreach (var layout in new[] { "up_first", "up_last", "three" })
            yield return new TestCaseData(layout, mode, scale, precision);
    }

    [TestCaseSource(nameof(Cases))]
    public void Fused_IsBitIdenticalToUnfused_AndNeverWritesTheUpsampledTensor(string layout, UpsampleMode mode, int scale, Precision precision)
    {
        var (net, shapes) = Build(layout, mode, scale);
        var fused = Run(net, shapes, true, precision, out var fusedKernels, out var fusedPlan);
        var plain = Run(net, shapes, false, precision, out _, out var plainPlan);
        AssertBitIdentical(fused, plain);

        string[] ups = layout == "three" ? new[] { "up_a", "up_c" } : new[] { "up_a" };
        Assert.That(plainPlan.Dispatches.Count(d => ups.Any(u => d.Label.StartsWith(u + "."))), Is.EqualTo(2 * ups.Length),
            "unfused: each upsample has its own forward and backward dispatch");
        Assert.That(fusedPlan.Dispatches.Where(d => ups.Any(u => d.Label.StartsWith(u + "."))), Is.Empty, "fused: no separate upsample dispatch");
        Assert.That(fusedPlan.Dispatches.SelectMany(d => d.Writes.Concat(d.Reads)).Where(v => ups.Any(u => v == u || v.StartsWith(u + "."))), Is.Empty,
            "fused: the upsampled tensors are never materialised");
        Assert.That(fusedPlan.Dispatches.Count(d => d.Kernel.StartsWith("upsample/upsample.fwd")), Is.EqualTo(ups.Length), "upsampled into the concat");
        Assert.That(fusedPlan.Dispatches.Count(d => d.Kernel.StartsWith("upsample/upsample.bwd")), Is.EqualTo(ups.Length), "gathered from the concat's gradient");
        Assert.That(fusedPlan.Dispatches.Count(d => d.Kernel.StartsWith("concat/")), Is.EqualTo(2), "only b is copied in and out");
        Assert.That(fusedPlan.Dispatches, Has.Count.EqualTo(plainPlan.Dispatches.Count - 2 * ups.Length));
        if (precision == Precision.Fp16)
            Assert.That(fusedKernels.Where(k => k.StartsWith("upsample/")), Has.All.EndsWith(".f16"));
    }

    [Test]
    public void UpsampleWithTwoConsumers_IsNotFused()
    {
        var net = new Network();
        var up = net.Add(new Upsample(2), "up", net.Input("a"));
        net.Output(net.Add(new Concat(), "cat", up, net.Input("b")), "cat");
        net.Output(net.Add(new ReLU(), "relu", up), "r");
        var plan = Plan(net);
        Assert.That(plan.Dispatches.Select(d => d.Label), Does.Contain("up.fwd"));
        Assert.That(plan.Dispatches.Count(d => d.Kernel == "concat/concat.copy"), Is.EqualTo(2));
    }

    [Test]
    public void UpsampleUsedTwiceBySameConcat_IsNotFused()
    {
        var net = new Network();
        var up = net.Add(new Upsample(2), "up", net.Input("a"));
        net.Output(net.Add(new Concat(), "cat", up, up, net.Input("b")), "cat");
        Assert.That(Plan(net).Dispatches.Select(d => d.Label), Does.Contain("up.fwd"));
    }

    [Test]
    public void UpsampleNamedAsOutput_IsNotFused()
    {
        var net = new Network();
        var up = net.Add(new Upsample(2), "up", net.Input("a"));
        net.Output(net.Add(new Concat(), "cat", up, net.Input("b")), "cat");
        net.Output(up, "up");
        var plan = Plan(net);
        Assert.That(plan.Dispatches.Select(d => d.Label), Does.Contain("up.fwd"));
        Assert.That(plan.Dispatches.Count(d => d.Kernel == "concat/concat.copy"), Is.EqualTo(2));
    }

    static PlanReport Plan(Network net) => net.Plan(new DeviceInfo { Name = "plan-only", MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30 },
        new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["a"] = new(1, 2, 3, 3), ["b"] = new(1, 2, 6, 6) } });

    [Test]
    public void DenoiseUNet_HasNoSeparateUpsamples_AndMatchesUnfused()
    {
        var net = Kiln.Models.DenoiseUNet.Build();
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, Kiln.Models.DenoiseUNet.InputChannels, 32, 16) };
        AssertUNet(net, shapes, training: false);
    }

    [Test]
    public void InpaintUNet_TrainingStep_HasNoSeparateUpsamples_AndMatchesUnfused()
    {
        var net = Kiln.Models.InpaintUNet.BuildForTraining(8, 12, 16);
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 16, 8), ["target"] = new(2, 3, 16, 8) };
        AssertUNet(net, shapes, training: true);
    }

    void AssertUNet(Network net, Dictionary<string, Shape> shapes, bool training)
    {
        Dictionary<string, float[]> Go(bool fuse, out PlanReport plan)
        {
            using var compiled = net.Compile(Context, new CompileOptions { InputShapes = shapes, Training = training, LearningRate = 0f, Fuse = fuse });
            int seed = 1;
            foreach (var (name, shape) in shapes.OrderBy(s => s.Key, StringComparer.Ordinal))
                compiled.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++, 0, 1).Select(v => (float)v).ToArray());
            compiled.Run();
            plan = compiled.Plan;
            var result = compiled.Outputs.ToDictionary(o => $"output {o.Key}", o => o.Value.ToArray());
            foreach (var (name, g) in compiled.Gradients) result[$"gradient of {name}"] = g.ToArray();
            return result;
        }
        var fused = Go(true, out var fusedPlan);
        var plain = Go(false, out var plainPlan);
        bool Separate(PlannedDispatch d) => d.Label.StartsWith("upsample_");
        Assert.That(plainPlan.Dispatches.Where(Separate), Is.Not.Empty);
        Assert.That(fusedPlan.Dispatches.Where(Separate), Is.Empty, "every decoder upsample is fused into its concat");
        int Upsamples(PlanReport plan, string phase) => plan.Dispatches.Count(d => d.Phase == phase && d.Kernel.StartsWith("upsample/"));
        Assert.That(Upsamples(fusedPlan, "forward"), Is.EqualTo(Upsamples(plainPlan, "forward")));
        if (!training)
        {
            AssertBitIdentical(fused, plain);
            return;
        }
        // The decoders' input gradients come straight from dY by sub-pixel phase: no upsample backward, and the gradients
        // before the decoders within f32 rounding of the unfused plan's.
        Assert.That(Upsamples(fusedPlan, "backward"), Is.Zero);
        Assert.That(Upsamples(plainPlan, "backward"), Is.Positive);
        Assert.That(fusedPlan.Dispatches.Select(d => d.Kernel), Has.Some.EqualTo("conv2d/conv2d.subpixel_weight"));
        AssertBitIdentical(fused.Where(kv => kv.Key.StartsWith("output")).ToDictionary(), plain.Where(kv => kv.Key.StartsWith("output")).ToDictionary());
        foreach (var (name, values) in plain.Where(kv => !kv.Key.StartsWith("output")))
            F16StorageCheck.Close(fused[name], values, 1e-5, name);
    }
}
