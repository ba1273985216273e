using Kiln.Layers;
using Kiln.Tests.Layers;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// Linear's input gradient takes the derivative of the activation fused into the layer before (<see cref="ActivationGradient"/>,
/// <see cref="LinearProducts.EmitActivationGradient"/>): a Linear's, or a convolution's seen through a Flatten; and a
/// convolution's input gradient takes that of a Linear seen through a Reshape. The activation then has no unary.bwd pass.
/// Each training step is checked against the unfused plan's (Fuse = false: separate layers, a unary.bwd pass each): bit
/// for bit at f32 (the same sums, the derivative and product unary.bwd's) and within <see cref="Tolerances.F16Storage"/>
/// at f16 storage (one rounding to f16 where the unfused plan has two).
/// </summary>
public sealed class LinearActivationGradientTests : GpuTest
{
    const string Flipped = nameof(Conv2dInputGradFlipped);

    /// <summary>x [batch, inF] -> Linear -> act -> Linear -> tanh -> MSE.</summary>
    internal static (Network Net, Dictionary<string, Shape> Shapes) Mlp(Layer act, int batch, int inF, int hidden, int outF)
    {
        var net = new Network();
        var h = net.Add(act, "act", net.Add(new Linear(inF, hidden), "fc1", net.Input("x")));
        var y = net.Add(new Tanh(), "out", net.Add(new Linear(hidden, outF), "fc2", h));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, new Dictionary<string, Shape> { ["x"] = new(batch, inF), ["target"] = new(batch, outF) });
    }

    /// <summary>
    /// fashion-ae's shape, small: conv (stride 2) and ReLU -> Flatten -> Linear and tanh -> Linear and leaky ReLU -> Reshape
    /// -> transposed conv (stride 2) -> sigmoid -> MSE.
    /// </summary>
    static (Network Net, Dictionary<string, Shape> Shapes) Autoencoder()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "act0", net.Add(new Conv2d(1, 4, 3, stride: 2, padding: 1), "enc", net.Input("x")));
        h = net.Add(new Tanh(), "act1", net.Add(new Linear(64, 12), "fc1", net.Add(new Flatten(), "flat", h)));
        h = net.Add(new LeakyReLU(0.1f), "act2", net.Add(new Linear(12, 64), "fc2", h));
        var y = net.Add(new Sigmoid(), "out", net.Add(new ConvTranspose2d(4, 1, 4, stride: 2, padding: 1), "dec", net.Add(new Reshape(4, 4, 4), "unflat", h)));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        return (net, new Dictionary<string, Shape> { ["x"] = new(3, 1, 8, 8), ["target"] = new(3, 1, 8, 8) });
    }

    static string Kernel(PlanReport plan, string label) => plan.Dispatches.Single(d => d.Label == label).Kernel;

    /// <summary>The kernel that writes a product's result: its split's finish where it splits K.</summary>
    static string Writer(PlanReport plan, string label) => plan.Dispatches.SingleOrDefault(d => d.Label == $"{label}.sum")?.Kernel ?? Kernel(plan, label);

    static string[] ActivationPasses(PlanReport plan) =>
        plan.Dispatches.Where(d => d.Kernel.StartsWith("elementwise/unary.bwd", StringComparison.Ordinal)).Select(d => d.Label).ToArray();

    static void SameBits(Dictionary<string, float[]> fused, Dictionary<string, float[]> plain)
    {
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
        }
    }

    /// <summary>Linear after Linear, with texel reads (lavapipe's default: linear.gemm.texel.dact) and storage-buffer reads
    /// (linear.gemm.dact).</summary>
    [TestCaseSource(typeof(ActivationGradientFusionTests), nameof(ActivationGradientFusionTests.Activations))]
    public void Fp32_LinearTakesTheActivationOfTheLinearBefore_BitForBit(Layer act)
    {
        var (net, shapes) = Mlp(act, 6, 10, 24, 5);
        foreach (var texel in new[] { true, false })
        {
            var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texel, out var plan);
            var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texel, out var plainPlan);
            string kernels = ActivationGradientFusionTests.Kernels(plan);
            Assert.That(Kernel(plan, "fc2.bwd_input"), Is.EqualTo(texel ? "linear/linear.gemm.texel.dact" : "linear/linear.gemm.dact"), kernels);
            Assert.That(ActivationPasses(plan), Is.Empty, kernels);
            Assert.That(ActivationPasses(plainPlan), Has.Length.EqualTo(2));
            SameBits(fused, plain);
        }
    }

    [TestCaseSource(typeof(ActivationGradientFusionTests), nameof(ActivationGradientFusionTests.Activations))]
    public void Fp16_LinearTakesTheActivationOfTheLinearBefore_AsTheUnfusedStep(Layer act)
    {
        var (net, shapes) = Mlp(act, 6, 10, 24, 5);
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _);
        Assert.That(Kernel(plan, "fc2.bwd_input"), Is.EqualTo("linear/linear.gemm.dact.f16"), ActivationGradientFusionTests.Kernels(plan));
        Assert.That(ActivationPasses(plan), Is.Empty);
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// With the entry <paramref name="entry"/> named (the tensor-core kernels: CoopMat/), fc2's input gradient (123 x 61
    /// over 45, ragged in every tile) runs <paramref name="kernel"/> at f16 and the step is within the f16 tolerance of the
    /// unfused one.
    /// </summary>
    internal static void TensorCoreProductTakesTheActivation(string entry, string kernel)
    {
        var (net, shapes) = Mlp(new Sigmoid(), 123, 37, 61, 45);
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan, entry);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, entry);
        Assert.That(Kernel(plan, "fc2.bwd_input"), Is.EqualTo(kernel), ActivationGradientFusionTests.Kernels(plan));
        Assert.That(ActivationPasses(plan), Is.Empty);
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// A product with few outputs and a long reduction (dX of 2 x 8 over 256 rows) splits K: the split's finish takes the
    /// derivative (reduce/partials.dact), bit for bit at f32, within the f16 tolerance at f16.
    /// </summary>
    [Test]
    public void ASplitProduct_TakesTheActivationInItsFinish()
    {
        var (net, shapes) = Mlp(new Sigmoid(), 2, 8, 8, 256);
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out _);
        string kernels = ActivationGradientFusionTests.Kernels(plan);
        Assert.That(Kernel(plan, "fc2.bwd_input"), Is.EqualTo("linear/linear.gemm"), kernels);
        Assert.That(Kernel(plan, "fc2.bwd_input.sum"), Is.EqualTo("reduce/partials.dact"), kernels);
        Assert.That(ActivationPasses(plan), Is.Empty, kernels);
        SameBits(fused, plain);

        var fused16 = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan16);
        var plain16 = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _);
        Assert.That(Kernel(plan16, "fc2.bwd_input.sum"), Is.EqualTo("reduce/partials.dact.f16"), ActivationGradientFusionTests.Kernels(plan16));
        foreach (var (name, values) in plain16) F16StorageCheck.Close(fused16[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// Through the views of an autoencoder: the encoder's ReLU taken by fc1's input gradient through the Flatten, fc1's tanh
    /// by fc2's, fc2's leaky ReLU by the transposed conv's input gradient (a strided forward, .dact) through the Reshape,
    /// and the sigmoid by the loss: no activation pass is left.
    /// </summary>
    [Test]
    public void ThroughFlattenAndReshape_NoActivationPassIsLeft()
    {
        var (net, shapes) = Autoencoder();
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan, Flipped);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out var plainPlan, Flipped);
        string kernels = ActivationGradientFusionTests.Kernels(plan);
        Assert.That(Writer(plan, "fc1.bwd_input"), Does.EndWith(".dact"), kernels);
        Assert.That(Writer(plan, "fc2.bwd_input"), Does.EndWith(".dact"), kernels);
        Assert.That(Kernel(plan, "dec.bwd_input"), Does.EndWith(".dact"), kernels);
        Assert.That(ActivationPasses(plan), Is.Empty, kernels);
        Assert.That(ActivationPasses(plainPlan), Has.Length.EqualTo(4));
        SameBits(fused, plain);

        var fused16 = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan16, Flipped);
        var plain16 = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, Flipped);
        Assert.That(ActivationPasses(plan16), Is.Empty, ActivationGradientFusionTests.Kernels(plan16));
        foreach (var (name, values) in plain16) F16StorageCheck.Close(fused16[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// Where the activation's output has a second reader (here fc1's tanh, also added to the output through a third Linear)
    /// or a view's input is read elsewhere too, the Linear's kernel has no form that adds the other part: the activation keeps
    /// its pass, which sums both parts, and the step is the unfused one's.
    /// </summary>
    [Test]
    public void ASecondReader_KeepsTheActivationPass()
    {
        var net = new Network();
        var h = net.Add(new Tanh(), "act", net.Add(new Linear(10, 16), "fc1", net.Input("x")));
        var y = net.Add(new Add(), "add", net.Add(new Linear(16, 5), "fc2", h), net.Add(new Linear(16, 5), "fc3", h));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(4, 10), ["target"] = new(4, 5) };
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out _);
        string kernels = ActivationGradientFusionTests.Kernels(plan);
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.EndWith(".dact"), kernels);
        Assert.That(ActivationPasses(plan), Is.EqualTo(new[] { "fc1.act.bwd" }), kernels);
        SameBits(fused, plain);

        // A view whose input the network also reads elsewhere: fc1's tanh output flattened for fc2 and added to the output.
        var viewed = new Network();
        var a = viewed.Add(new Tanh(), "act", viewed.Add(new Linear(10, 5), "fc1", viewed.Input("x")));
        var z = viewed.Add(new Add(), "add", viewed.Add(new Linear(5, 5), "fc2", viewed.Add(new Flatten(), "flat", a)), a);
        viewed.Output(z, "y");
        viewed.SetLoss(new MseLoss(), z, viewed.Input("target"));
        var viewShapes = new Dictionary<string, Shape> { ["x"] = new(4, 10), ["target"] = new(4, 5) };
        var fusedView = ActivationGradientFusionTests.Step(viewed, viewShapes, true, Precision.Fp32, texelReads: false, out var viewPlan);
        var plainView = ActivationGradientFusionTests.Step(viewed, viewShapes, false, Precision.Fp32, texelReads: false, out _);
        Assert.That(viewPlan.Dispatches.Select(d => d.Kernel), Has.None.EndWith(".dact"), ActivationGradientFusionTests.Kernels(viewPlan));
        Assert.That(ActivationPasses(viewPlan), Is.EqualTo(new[] { "fc1.act.bwd" }));
        SameBits(fusedView, plainView);
    }

    /// <summary>
    /// An activation after a view (Linear, Reshape, ReLU: conv_autoencoder's decoder; Conv, Flatten, Tanh) folds into the
    /// layer before the view: no forward pass of its own, and its gradient taken by the view's reader (the transposed conv's
    /// input gradient, the Linear's). Bit for bit the unfused step at f32, within the f16 tolerance at f16.
    /// </summary>
    [Test]
    public void AnActivationAfterAView_FoldsIntoTheLayerBefore()
    {
        var net = new Network();
        var h = net.Add(new Tanh(), "act0", net.Add(new Flatten(), "flat", net.Add(new Conv2d(2, 4, 3, stride: 2, padding: 1), "enc", net.Input("x"))));
        h = net.Add(new Linear(64, 48), "fc", h);
        h = net.Add(new ReLU(), "act1", net.Add(new Reshape(3, 4, 4), "unflat", h));
        var y = net.Add(new ConvTranspose2d(3, 2, 4, stride: 2, padding: 1), "dec", h);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["x"] = new(3, 2, 8, 8), ["target"] = new(3, 2, 8, 8) };
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            var fused = ActivationGradientFusionTests.Step(net, shapes, true, precision, texelReads: false, out var plan, Flipped);
            var plain = ActivationGradientFusionTests.Step(net, shapes, false, precision, texelReads: false, out var plainPlan, Flipped);
            string kernels = ActivationGradientFusionTests.Kernels(plan);
            Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.StartWith("act"), kernels);
            Assert.That(plainPlan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("act1.fwd"));
            Assert.That(ActivationPasses(plan), Is.Empty, kernels);
            Assert.That(Writer(plan, "fc.bwd_input"), Does.Contain(".dact"), kernels);
            Assert.That(Kernel(plan, "dec.bwd_input"), Does.Contain(".dact"), kernels);
            if (precision == Precision.Fp32) SameBits(fused, plain);
            else foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
        }
    }

    /// <summary>An activation after a view stays a layer of its own where it is a named output, or where the view has
    /// another reader; the steps are the unfused ones'.</summary>
    [Test]
    public void AnActivationAfterAView_StaysWhereItIsNamedOrTheViewIsShared()
    {
        var shapes = new Dictionary<string, Shape> { ["x"] = new(4, 10), ["target"] = new(4, 6) };
        foreach (var shared in new[] { false, true })
        {
            var net = new Network();
            var v = net.Add(new Reshape(2, 6), "view", net.Add(new Linear(10, 12), "fc1", net.Input("x")));
            var a = net.Add(new Sigmoid(), "act", v);
            Node y = net.Add(new Linear(12, 6), "fc2", net.Add(new Reshape(12), "back", shared ? net.Add(new Add(), "add", a, v) : a));
            if (!shared) net.Output(a, "a");
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("target"));
            var fused = ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp32, texelReads: false, out var plan);
            var plain = ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp32, texelReads: false, out _);
            Assert.That(plan.Dispatches.Select(d => d.Label), Has.Some.EqualTo("act.fwd"), ActivationGradientFusionTests.Kernels(plan));
            SameBits(fused, plain);
        }
    }
}
