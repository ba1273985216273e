using Kiln.Layers;
using Kiln.Models;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The cooperative-matrix convolution kernels (forward, and through it the stride-1 input gradient; the weight gradient)
/// against the plain kernels, where the device has fp16 cooperative matrices: each layer at Fp16 with the tensor-core
/// entries named agrees with its Fp32 run (plain f32 kernels) within <see cref="Tolerances.F16Storage"/> of each tensor's
/// largest value (<see cref="F16StorageConvTests.Matches"/>), and the plan shows the cooperative-matrix kernels.
/// Debian 12's lavapipe has no cooperative matrices (see <see cref="CooperativeMatrixTest"/>); tools/coopmat-lavapipe.sh
/// runs them on Mesa 26's lavapipe (8x8x8 matrices, 8-wide subgroups), a GPU run on 16x16x16 ones.
/// </summary>
public sealed class CooperativeMatrixConvTests : CooperativeMatrixTest
{
    const string Forward = "conv2d/conv2d.fwd_coopmat.f16", WeightGrad = "conv2d/conv2d.bwd_weight_coopmat.f16";
    // The flipped input gradient runs the forward kernel (here the cooperative-matrix one) on dY; lavapipe takes it only when named.
    static readonly string[] Named = { nameof(Conv2dCoopMat), nameof(Conv2dWeightGradCoopMat), nameof(Conv2dInputGradFlipped) };

    [Test]
    public void CooperativeMatrix_IsEnabledWithItsShapes()
    {
        Assert.That(Context.Info.CooperativeMatrixShapes, Has.Some.Contains("f16*f16+f32->f32 (subgroup)"));
        Assert.That(Context.CooperativeMatrixEnabled, Is.True, "the extension and its feature are enabled on Kiln's own device");
        Assert.That(Context.KernelDevice.CooperativeMatrixF16Size, Is.EqualTo(16).Or.EqualTo(8));
    }

    static IEnumerable<TestCaseData> Layers() => new[]
    {
        Case("3x3_pad1", new Conv2d(16, 24, 3, padding: 1), new Shape(2, 16, 11, 10), Forward, WeightGrad, "conv2d/conv2d.flip_weight"),
        Case("5x5_stride2", new Conv2d(5, 20, 5, stride: 2, padding: 2), new Shape(2, 5, 15, 14), Forward, WeightGrad),
        Case("1x1_wide", new Conv2d(40, 72, 1), new Shape(1, 40, 9, 13), Forward, WeightGrad),
        Case("dilation2_no_bias", new Conv2d(16, 16, 3, padding: 2, dilation: 2, bias: false), new Shape(1, 16, 12, 11), Forward, WeightGrad),
        Case("split_pixels", new Conv2d(8, 16, 3, padding: 1), new Shape(2, 8, 48, 40), Forward, WeightGrad, "reduce/partials"),
        Case("transpose", new ConvTranspose2d(24, 16, 3, padding: 1), new Shape(2, 24, 9, 10), Forward, WeightGrad),
        Case("transpose_k4_stride2", new ConvTranspose2d(20, 16, 4, stride: 2, padding: 1), new Shape(2, 20, 7, 6), WeightGrad),
        Case("1x1_stride2_wide_k", new Conv2d(72, 40, 1, stride: 2), new Shape(1, 72, 13, 11), Forward, WeightGrad),
    };

    /// <summary>Random layers the cooperative-matrix kernels take (groups of 1, 16 to 80 output channels; kernel, stride,
    /// dilation, padding and sizes drawn), fixed seed.</summary>
    static IEnumerable<TestCaseData> RandomLayers()
    {
        var rng = new Random(2026);
        for (int made = 0; made < 8;)
        {
            int k = new[] { 1, 3, 3, 5 }[rng.Next(4)], s = rng.Next(1, 3), d = rng.Next(3) == 0 ? 2 : 1, p = rng.Next(0, k / 2 * d + 1);
            int cin = rng.Next(1, 41), cout = rng.Next(16, 81), h = rng.Next(5, 31), w = rng.Next(5, 31), n = rng.Next(1, 3);
            if (h + 2 * p < d * (k - 1) + 1 || w + 2 * p < d * (k - 1) + 1) continue;
            made++;
            yield return Case($"n{n}_{cin}to{cout}_{h}x{w}_k{k}s{s}p{p}d{d}", new Conv2d(cin, cout, k, s, p, d), new Shape(n, cin, h, w), Forward, WeightGrad);
        }
    }

    static TestCaseData Case(string name, Layer layer, Shape x, params string[] kernels) =>
        new TestCaseData(layer, x, kernels).SetArgDisplayNames(name);

    [TestCaseSource(nameof(Layers))]
    [TestCaseSource(nameof(RandomLayers))]
    public void MatchesThePlainKernels(Layer layer, Shape x, string[] kernels)
    {
        var f16 = F16StorageConvTests.Matches(layer, x, texelReads: false, Named, null);
        // A Conv2d's bias gradient comes from the weight gradient's .bias variant (ConvWeightGrad.SummingBias): no pass of its own.
        bool summed = layer is Conv2d { Attributes.Bias: true };
        foreach (var k in kernels.Select(k => summed && k == WeightGrad ? "conv2d/conv2d.bwd_weight_coopmat.bias.f16" : k))
            Assert.That(f16.Kernels, Has.Some.StartWith(k), string.Join(", ", f16.Kernels));
        if (summed) Assert.That(f16.Kernels, Has.None.StartWith("conv2d/conv2d.bwd_bias"), string.Join(", ", f16.Kernels));
    }

    const string Patch = "conv2d/conv2d.fwd_coopmat_patch.f16", Pack = "conv2d/conv2d.pack_weight_f16";
    const string PatchPhases = "conv2d/conv2d.fwd_coopmat_patch.phases.f16";

    const string WeightGradPatch = "conv2d/conv2d.bwd_weight_coopmat_patch.f16", WeightGradPatchBias = "conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16";
    static readonly string[] PatchNamed =
    {
        nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dWeightGradCoopMat), nameof(Conv2dInputGradFlipped),
    };

    /// <summary>
    /// Layers for the patch kernels: forward blocks stored straight to Y (output widths and planes that are multiples of
    /// 8) and through the staging tile (odd sizes, Cout not a multiple of S), Cin not a multiple of the 16-channel step,
    /// several steps, no padding, up to 4 channel subgroups, strides and dilations of 2, a weight gradient split over the
    /// pixel tiles, transposed layers; 1x1 kernels, and kernels of more than 9 taps, whose weight gradient runs in tap
    /// blocks (4x4 in two 2x4 blocks, 5x5 in 3x3 ones and 7x7 in 2x4 ones that pass the kernel's edge, 5x5 dilated, a split one; the
    /// last two beyond the patch forward, which runs the direct kernel there).
    /// </summary>
    static IEnumerable<TestCaseData> PatchLayers() => new[]
    {
        Case("3x3_pad1_aligned", new Conv2d(16, 32, 3, padding: 1), new Shape(2, 16, 16, 24), Patch, Pack, WeightGradPatch),
        Case("3x3_pad1_edges_cin9", new Conv2d(9, 24, 3, padding: 1), new Shape(1, 9, 13, 11), Patch, Pack, WeightGradPatch),
        Case("3x3_cin40_three_steps", new Conv2d(40, 40, 3, padding: 1), new Shape(2, 40, 10, 17), Patch, WeightGradPatch),
        Case("3x3_no_padding", new Conv2d(16, 16, 3), new Shape(1, 16, 12, 20), Patch, WeightGradPatch),
        Case("1x1", new Conv2d(48, 64, 1), new Shape(1, 48, 8, 16), Patch, WeightGradPatch),
        Case("5x5_pad2", new Conv2d(8, 16, 5, padding: 2), new Shape(1, 8, 9, 12), Patch, WeightGradPatch),
        Case("5x5_dilation2", new Conv2d(16, 24, 5, padding: 4, dilation: 2), new Shape(1, 16, 13, 18), WeightGradPatch),
        Case("7x7_pad3_split_pixels", new Conv2d(8, 16, 7, padding: 3), new Shape(2, 8, 48, 40), WeightGradPatch, "reduce/partials"),
        Case("3x3_cout80_no_bias", new Conv2d(32, 80, 3, padding: 1, bias: false), new Shape(1, 32, 8, 8), Patch, WeightGradPatch),
        Case("3x3_split_pixels", new Conv2d(8, 16, 3, padding: 1), new Shape(2, 8, 48, 40), Patch, WeightGradPatch, "reduce/partials"),
        Case("transpose_3x3", new ConvTranspose2d(24, 16, 3, padding: 1), new Shape(2, 24, 9, 10), Patch, WeightGradPatch),
        Case("3x3_stride2", new Conv2d(16, 32, 3, stride: 2, padding: 1), new Shape(2, 16, 17, 19), Patch, WeightGradPatch),
        Case("4x4_stride2", new Conv2d(8, 24, 4, stride: 2, padding: 1), new Shape(1, 8, 16, 18), Patch, WeightGradPatch),
        Case("transpose_4x4_stride2", new ConvTranspose2d(16, 24, 4, stride: 2, padding: 1), new Shape(2, 16, 7, 9), WeightGradPatch),
        Case("3x3_dilation2", new Conv2d(16, 16, 3, padding: 2, dilation: 2), new Shape(1, 16, 12, 11), Patch, WeightGradPatch),
        Case("1x1_stride2", new Conv2d(40, 16, 1, stride: 2), new Shape(1, 40, 13, 11), Patch, WeightGradPatch),
        Case("transpose_3x3_stride2", new ConvTranspose2d(16, 24, 3, stride: 2, padding: 1, outputPadding: 1), new Shape(2, 16, 7, 9), WeightGradPatch),
    };

    /// <summary>Random layers of the patch forward (kernel 1 to 5, stride 1 or 2, dilation 2 for kernels up to 3, padding
    /// up to half the span; sizes drawn), fixed seed.</summary>
    static IEnumerable<TestCaseData> RandomPatchLayers()
    {
        var rng = new Random(1127);
        for (int made = 0; made < 10;)
        {
            int k = new[] { 1, 2, 3, 3, 3, 5 }[rng.Next(6)], st = rng.Next(1, 3), d = k <= 3 && rng.Next(4) == 0 ? 2 : 1;
            int p = rng.Next(0, ((k - 1) * d + 1) / 2 + 1);
            int cin = rng.Next(1, 71), cout = rng.Next(16, 101), h = rng.Next(3, 36), w = rng.Next(3, 36), n = rng.Next(1, 3);
            if (h + 2 * p < (k - 1) * d + 1 || w + 2 * p < (k - 1) * d + 1) continue;
            made++;
            yield return Case($"n{n}_{cin}to{cout}_{h}x{w}_k{k}s{st}p{p}d{d}", new Conv2d(cin, cout, k, st, p, d), new Shape(n, cin, h, w), Patch, Pack,
                WeightGradPatch);
        }
    }

    [TestCaseSource(nameof(PatchLayers))]
    [TestCaseSource(nameof(RandomPatchLayers))]
    public void Patch_MatchesThePlainKernels(Layer layer, Shape x, string[] kernels)
    {
        var f16 = F16StorageConvTests.Matches(layer, x, texelReads: false, PatchNamed, null);
        // A Conv2d's bias gradient comes from the patch weight gradient's .bias variant: the row sums of the dY blocks it
        // stages, and no pass of its own.
        bool summed = layer is Conv2d { Attributes.Bias: true } && kernels.Contains(WeightGradPatch);
        foreach (var k in kernels.Select(k => summed && k == WeightGradPatch ? WeightGradPatchBias : k))
            Assert.That(f16.Kernels, Has.Some.StartWith(k), string.Join(", ", f16.Kernels));
        if (summed) Assert.That(f16.Kernels, Has.None.StartWith("conv2d/conv2d.bwd_bias"), string.Join(", ", f16.Kernels));
    }

    /// <summary>
    /// An activation fused into a convolution whose output the next convolution alone reads: that one's input gradient on
    /// the patch kernel (flipped weight, <see cref="Conv2dInputGradFlipped"/>) leaves through the activation's derivative
    /// in its ".dact" variant, stored straight from the accumulators (an aligned tile: the activation's output loaded as a
    /// matrix of their layout) or through the staging tile (odd sizes, channels off the tile); the step matches the
    /// unfused Fp16 plan (the activation's gradient a pass of its own) within <see cref="Tolerances.F16Storage"/>.
    /// </summary>
    [TestCase(16, 8, 16, "relu")]
    [TestCase(16, 8, 16, "sigmoid")]
    [TestCase(20, 9, 7, "leaky_relu")]
    [TestCase(20, 7, 9, "tanh")]
    public void Patch_InputGradientTakesTheActivation_AsTheUnfusedPlan(int channels, int h, int w, string activation)
    {
        Layer act = activation switch { "relu" => new ReLU(), "sigmoid" => new Sigmoid(), "leaky_relu" => new LeakyReLU(0.2f), _ => new Tanh() };
        var (net, shapes) = Graph.ActivationGradientFusionTests.Chain(act, channels: channels, h: h, w: w);
        var fused = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan, PatchNamed);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, PatchNamed);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo("conv2d/conv2d.fwd_coopmat_patch.dact.f16"),
            Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv1.act.bwd"));
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// The other tensor-core forward kernels the registry or the tuner may give an input gradient have the ".dact" variant
    /// too: the im2col kernel (<see cref="Conv2dCoopMat"/>) and cooperative_matrix2's (<see cref="Conv2dCoopMat2"/>, here in
    /// its subgroup-scope form), aligned and odd sizes; the step matches the unfused Fp16 plan within
    /// <see cref="Tolerances.F16Storage"/>.
    /// </summary>
    [TestCase(nameof(Conv2dCoopMat), "conv2d/conv2d.fwd_coopmat.dact.f16", 16, 8, 16, "relu")]
    [TestCase(nameof(Conv2dCoopMat), "conv2d/conv2d.fwd_coopmat.dact.f16", 20, 9, 7, "tanh")]
    [TestCase(nameof(Conv2dCoopMat2), "conv2d/conv2d.fwd_coopmat2.subgroup.dact.f16", 16, 8, 16, "sigmoid")]
    [TestCase(nameof(Conv2dCoopMat2), "conv2d/conv2d.fwd_coopmat2.subgroup.dact.f16", 20, 7, 9, "leaky_relu")]
    public void OtherKernels_InputGradientTakesTheActivation_AsTheUnfusedPlan(string entry, string module, int channels, int h, int w, string activation)
    {
        Layer act = activation switch { "relu" => new ReLU(), "sigmoid" => new Sigmoid(), "leaky_relu" => new LeakyReLU(0.2f), _ => new Tanh() };
        var (net, shapes) = Graph.ActivationGradientFusionTests.Chain(act, channels: channels, h: h, w: w);
        string[] named = { entry, nameof(Conv2dInputGradFlipped) };
        var fused = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan, named);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, named);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2.bwd_input").Kernel, Is.EqualTo(module), Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv1.act.bwd"));
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    static readonly string[] StridedNamed = PatchNamed.Append(nameof(Conv2dInputGradCoopMatStrided)).ToArray();

    /// <summary>
    /// A strided conv reading a conv and an activation: its input gradient by output phase on the patch kernel
    /// (<see cref="Conv2dInputGradCoopMatStrided"/>) takes the activation's derivative in every computed phase's
    /// ".dact" epilogue (the 4x4 kernel's four phases of 2x2 taps, and the 3x3's run as 2x2, in one dispatch of the
    /// .phases.dact variant), and a
    /// phase no tap reaches (a 1x1 kernel of stride 2) is zero, not act(0) (sigmoid: 0.5); the step matches the unfused
    /// Fp16 plan within <see cref="Tolerances.F16Storage"/>. The same with the phases on cooperative_matrix2's kernel
    /// (named; its subgroup-scope form here).
    /// </summary>
    [TestCase(4, 1, "relu", false)]
    [TestCase(3, 1, "tanh", false)]
    [TestCase(1, 0, "sigmoid", false)]
    [TestCase(4, 1, "tanh", true)]
    [TestCase(1, 0, "sigmoid", true)]
    public void Strided_EveryPhaseTakesTheActivation_AsTheUnfusedPlan(int kernel, int padding, string activation, bool coopMat2)
    {
        var named = coopMat2 ? new[] { nameof(Conv2dCoopMat2), nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dInputGradCoopMatStrided) } : StridedNamed;
        string module = (coopMat2 ? "conv2d/conv2d.fwd_coopmat2.subgroup" : "conv2d/conv2d.fwd_coopmat_patch") + (kernel > 1 ? ".phases.dact.f16" : ".dact.f16");
        Layer act = activation switch { "relu" => new ReLU(), "sigmoid" => new Sigmoid(), _ => new Tanh() };
        var (net, shapes) = Graph.ActivationGradientFusionTests.StridedChain(act, kernel, padding);
        var fused = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, out var plan, named);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, out _, named);
        var phases = plan.Dispatches.Where(d => (d.Label == "conv2.bwd_input" || d.Label.StartsWith("conv2.bwd_input.phase", StringComparison.Ordinal))
            && !d.Label.EndsWith(".pack", StringComparison.Ordinal)).ToList();
        Assert.That(phases, Has.Count.EqualTo(kernel > 1 ? 1 : 4), Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(phases.Where(d => !d.Kernel.StartsWith("conv2d/conv2d.phase_fill", StringComparison.Ordinal)).Select(d => d.Kernel),
            Is.Not.Empty.And.All.EqualTo(module), Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(phases.Any(d => d.Kernel.StartsWith("conv2d/conv2d.phase_fill", StringComparison.Ordinal)), Is.EqualTo(kernel == 1), "a phase no tap reaches");
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.None.EqualTo("conv1.act.bwd"));
        foreach (var (name, values) in plain) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// Strided layers' input gradients on tensor cores (<see cref="Conv2dInputGradCoopMatStrided"/>): one patch-kernel
    /// dispatch per output phase writing every s-th pixel, the weight packed per phase (its taps, turned and swapped), or,
    /// where that wastes little (every phase with taps: 4x4 of stride 2; 3x3 of stride 3, dilated or not, whose phases'
    /// grids differ; 3x3 and 5x5 of stride 2, whose phases' taps differ, each run as the largest phase's with zero weights
    /// for those it lacks), every phase in one dispatch of the .phases variant with every phase's taps in one packing;
    /// kernels wider than, as wide as and narrower than the stride (1x1: phases without taps, zeroed by conv2d.phase_fill), odd sizes, no
    /// padding, a stride of 3 and unequal strides, dilated layers.
    /// </summary>
    static IEnumerable<TestCaseData> StridedLayers() => new[]
    {
        Case("3x3_stride2_pad1", new Conv2d(16, 32, 3, stride: 2, padding: 1), new Shape(2, 16, 17, 19)),
        Case("4x4_stride2_pad1", new Conv2d(24, 16, 4, stride: 2, padding: 1), new Shape(1, 24, 16, 18)),
        Case("5x5_stride2_pad2", new Conv2d(16, 16, 5, stride: 2, padding: 2), new Shape(1, 16, 15, 14)),
        Case("3x3_stride2_no_padding", new Conv2d(20, 24, 3, stride: 2), new Shape(2, 20, 12, 11)),
        Case("1x1_stride2_zero_phases", new Conv2d(40, 16, 1, stride: 2), new Shape(1, 40, 13, 11), "conv2d/conv2d.phase_fill.f16"),
        Case("3x3_stride3_pad1", new Conv2d(16, 16, 3, stride: 3, padding: 1), new Shape(1, 16, 14, 16)),
        Case("3x3_stride2x1", new Conv2d(16, 24, (3, 3), (2, 1), (1, 1), (1, 1)), new Shape(1, 16, 13, 9)),
        // Dilated: gcd(2, 2) = 2 leaves the odd phases without taps; stride 3 (gcd 1) gives each phase one tap; stride 4
        // (gcd 2) two phases of one and two taps, the other two without.
        Case("3x3_stride2_dilation2", new Conv2d(16, 24, 3, stride: 2, padding: 2, dilation: 2), new Shape(1, 16, 15, 13), "conv2d/conv2d.phase_fill.f16"),
        Case("5x5_stride2_dilation2", new Conv2d(16, 16, 5, stride: 2, padding: 4, dilation: 2), new Shape(2, 16, 14, 17)),
        Case("3x3_stride3_dilation2", new Conv2d(16, 16, 3, stride: 3, padding: 2, dilation: 2), new Shape(1, 16, 16, 14)),
        Case("3x3_stride4_dilation2", new Conv2d(16, 16, 3, stride: 4, padding: 2, dilation: 2), new Shape(1, 16, 17, 18)),
    };

    [TestCaseSource(nameof(StridedLayers))]
    public void Strided_InputGradient_RunsByPhaseOnTensorCores(Layer layer, Shape x, string[] kernels)
    {
        var f16 = F16StorageConvTests.Matches(layer, x, texelReads: false, StridedNamed, null);
        var dx = f16.Labels.Zip(f16.Kernels).Where(p => p.First.StartsWith("layer.bwd_input", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        var a = ((Conv2d)layer).Attributes;
        int phases = PhasedInputGrad.Phases(a, x).Count(ph => ph.Computed);
        bool one = Conv2dInputGradCoopMatStrided.OneDispatch(a, x);
        // Of these layers, one dispatch takes those whose every phase has taps (each run as the largest phase's: at most
        // 16 products for 9); a phase without taps (1x1, or dilation 2 at stride 2 or 4) would make it 4 for 1 or more.
        Assert.That(one, Is.EqualTo(PhasedInputGrad.Phases(a, x).All(ph => ph.Computed)), "of these layers, those whose every phase has taps");
        Assert.That(dx.Count(k => k == Patch), Is.EqualTo(one ? 0 : phases), string.Join(", ", dx));
        Assert.That(dx.Count(k => k == PatchPhases), Is.EqualTo(one ? 1 : 0), "every phase in one dispatch where that wastes little");
        Assert.That(dx.Count(k => k == Pack), Is.EqualTo(one ? 1 : phases), "one packing per dispatch");
        Assert.That(dx, Has.None.StartWith("conv_transpose2d/"), "not the gather");
        foreach (var k in kernels) Assert.That(dx, Does.Contain(k));
    }

    /// <summary>ConvTranspose2d's forward phase by phase on tensor cores (the input gradient of the matching convolution), with
    /// its bias and a fused activation; output padding; a kernel narrower than the stride, whose phases without taps get
    /// act(bias) from conv2d.phase_fill; in one dispatch of the .phases variant a 4x4 kernel of stride 2 (every phase 2x2
    /// taps), a 3x3 of stride 2 (phases of 1 to 4 taps, each run as 2x2) and a 3x3 of stride 4 (9 phases of one tap,
    /// 7 without: those get act(bias) from their zero weights).</summary>
    [TestCase(4, 2, 1, 0, 4, true)]
    [TestCase(3, 2, 1, 1, 4, true)]
    [TestCase(1, 2, 0, 1, 1, false)]
    [TestCase(3, 4, 0, 0, 9, true)]
    [TestCase(3, 2, 2, 1, 1, false, 2)]
    public void Strided_TransposedForward_RunsByPhaseOnTensorCores(int kernel, int stride, int padding, int outputPadding, int computed, bool oneDispatch,
        int dilation = 1)
    {
        var layer = new ConvTranspose2d(24, 16, kernel, stride: stride, padding: padding, outputPadding: outputPadding, dilation: dilation);
        var f16 = F16StorageConvTests.Matches(layer, new Shape(2, 24, 7, 9), texelReads: false, StridedNamed, null, new Tanh());
        var fwd = f16.Labels.Zip(f16.Kernels).Where(p => p.First.StartsWith("layer.fwd", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        var y = layer.OutputShape(new[] { new Shape(2, 24, 7, 9) });
        bool one = Conv2dInputGradCoopMatStrided.OneDispatch(new ConvAttributes(16, 24, (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation), 1, true), y);
        Assert.That(one, Is.EqualTo(oneDispatch));
        Assert.That(PhasedInputGrad.Phases(new ConvAttributes(16, 24, (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation), 1, true), y)
            .Count(ph => ph.Computed), Is.EqualTo(computed));
        Assert.That(fwd.Count(k => k == Patch), Is.EqualTo(one ? 0 : computed), string.Join(", ", fwd));
        Assert.That(fwd.Count(k => k == PatchPhases), Is.EqualTo(one ? 1 : 0), string.Join(", ", fwd));
        Assert.That(fwd.Count(k => k == "conv2d/conv2d.phase_fill.f16"), Is.EqualTo(one ? 0 : stride * stride - computed), "the phases without taps");
        Assert.That(fwd, Has.None.StartWith("conv_transpose2d/"), "not the gather");
    }

    /// <summary>A stride-1 ConvTranspose2d's forward as the flipped convolution on tensor cores (the patch kernel, its weight
    /// packed turned and swapped), with its bias and a fused activation.</summary>
    [Test]
    public void StrideOne_TransposedForward_RunsOnTensorCores()
    {
        var layer = new ConvTranspose2d(24, 16, 3, padding: 1);
        var f16 = F16StorageConvTests.Matches(layer, new Shape(2, 24, 7, 9), texelReads: false, PatchNamed, null, new Tanh());
        var fwd = f16.Labels.Zip(f16.Kernels).Where(p => p.First.StartsWith("layer.fwd", StringComparison.Ordinal)).Select(p => p.Second).ToList();
        Assert.That(fwd, Is.EqualTo(new[] { Pack, Patch }), "the weight packed turned, then one fused dispatch");
    }

    /// <summary>
    /// Conv2d(cin -> cout, 3x3) + ReLU + 2x2 max pool on [2, cin, h, w] at Fp16 with <paramref name="prefer"/> named, storage
    /// reads, fused (the pool in the conv's epilogue where its kernel has a .pool variant) or not: the output and the plan's kernels.
    /// </summary>
    internal static float[] PooledConv(int cin, int cout, int h, int w, bool fuse, string prefer, out string[] kernels)
    {
        var net = new Network();
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(cin, cout, 3, padding: 1), "conv", net.Input("x")));
        net.Output(net.Add(new MaxPool2d(2), "pool", y), "y");
        var xShape = new Shape(2, cin, h, w);
        using var c = net.Compile(Context, CompileOptions.For("x", xShape) with
        {
            Fuse = fuse, Precision = Precision.Fp16, TexelReads = false, PreferKernels = new[] { prefer },
        });
        c.SetInput("x", RandomData.Uniform((int)xShape.Elements, 3).Select(v => (float)v).ToArray());
        int seed = 4;
        foreach (var (_, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.3, 0.3).Select(v => (float)v).ToArray());
        c.Run();
        kernels = c.Plan.Dispatches.Select(d => d.Kernel).ToArray();
        return c.GetOutput("y");
    }

    /// <summary>In an inference plan the patch kernel takes the 2x2 max pool after it in its epilogue (its .pool variant, even
    /// rows per subgroup): only the pooled output is written, bit for bit the unfused plan's (the same kernel, then the pool).</summary>
    [TestCase(16, 32, 12, 20)]
    [TestCase(9, 24, 10, 14)]
    public void Patch_PooledEpilogue_MatchesTheUnfusedPlan(int cin, int cout, int h, int w)
    {
        float[] Run(bool fuse, out string[] kernels) => PooledConv(cin, cout, h, w, fuse, nameof(Conv2dCoopMatPatch), out kernels);
        var fused = Run(true, out var kernels);
        var plain = Run(false, out var plainKernels);
        Assert.That(kernels, Does.Contain(Patch.Replace(".f16", ".pool.f16")).And.None.StartsWith("pool/"), string.Join(", ", kernels));
        Assert.That(plainKernels, Does.Contain(Patch).And.Contain("pool/pool.fwd.f16"));
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
    }

    /// <summary>
    /// A conv output read by its pool and by the decoder (a UNet encoder's skip) is written by the patch kernel that takes
    /// the pool (its .pool.keep variant), in both layouts: a two-level UNet's training step's loss and gradients within
    /// <see cref="Tolerances.F16Storage"/> of the unfused step's (Fuse = false: separate layers and passes), and an
    /// inference plan's two outputs (the pool's and a second reader's) bit for bit the unfused plan's (the same kernel,
    /// then the ReLU and the pool).
    /// </summary>
    [TestCase(TensorLayout.Nchw, nameof(Conv2dCoopMatPatch), "conv2d/conv2d.fwd_coopmat_patch.pool.keep.f16")]
    [TestCase(TensorLayout.Nhwc, nameof(Conv2dCoopMatPatchNhwc), "conv2d/conv2d.fwd_coopmat_patch.nhwc.pool.keep.f16")]
    public void Patch_ConvOutputReadByItsPoolAndTheDecoder_IsWrittenByThePoolingKernel(TensorLayout layout, string entry, string kernel) =>
        ConvOutputReadByItsPool(layout, entry, kernel);

    /// <summary>The checks of <see cref="Patch_ConvOutputReadByItsPoolAndTheDecoder_IsWrittenByThePoolingKernel"/> with
    /// <paramref name="entry"/> named, whose .pool.keep variant <paramref name="kernel"/> must take the pool.</summary>
    internal static void ConvOutputReadByItsPool(TensorLayout layout, string entry, string kernel)
    {
        var (plan, plainPlan) = UNetStepAsTheUnfusedStep(layout, entry);
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv2d_1+maxpool2d_0.fwd")?.Kernel, Is.EqualTo(kernel),
            Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/pool.fwd"));
        Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/pool.fwd"));

        // Inference: conv + ReLU read by the pool and by a tanh (both outputs); unfused, the same kernel writes the conv's
        // output and the ReLU and the pool run on their own, which round nothing anew.
        var inference = new Network();
        var relu = inference.Add(new ReLU(), "relu", inference.Add(new Conv2d(9, 32, 3, padding: 1), "conv", inference.Input("x")));
        inference.Output(inference.Add(new MaxPool2d(2), "pool", relu), "pooled");
        inference.Output(inference.Add(new Tanh(), "skip", relu), "skip");
        var x = new Shape(2, 9, 10, 14);
        float[][] Run(bool fuse, out PlanReport report)
        {
            using var c = inference.Compile(Context, CompileOptions.For("x", x) with
            {
                Fuse = fuse, Precision = Precision.Fp16, TexelReads = false, ActivationLayout = layout, PreferKernels = new[] { entry },
            });
            c.SetInput("x", RandomData.Uniform((int)x.Elements, 3).Select(v => (float)v).ToArray());
            int seed = 4;
            foreach (var (_, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.3, 0.3).Select(v => (float)v).ToArray());
            c.Run();
            report = c.Plan;
            return new[] { c.GetOutput("pooled"), c.GetOutput("skip") };
        }
        var fused = Run(true, out var fusedReport);
        var unfused = Run(false, out _);
        Assert.That(fusedReport.Dispatches.Select(d => d.Kernel), Does.Contain(kernel).And.None.StartsWith("pool/pool.fwd"),
            Graph.ActivationGradientFusionTests.Kernels(fusedReport));
        Assert.That(fused[0], Is.EqualTo(unfused[0]).AsCollection, "the pooled output, bit for bit the unfused plan's");
        Assert.That(fused[1], Is.EqualTo(unfused[1]).AsCollection, "the conv's output through tanh, bit for bit the unfused plan's");
        Assert.That(unfused[1].Distinct().Count(), Is.GreaterThan(100), "varied values");
    }

    /// <summary>
    /// The pool's gradient taken by the patch kernel computing the input gradient of the conv that reads the pool (its
    /// .unpool variant, through the flipped input gradient; <see cref="PoolGradient"/>), in both layouts: a two-level UNet's
    /// training step within <see cref="Tolerances.F16Storage"/> of the unfused step's, with no pool gradient pass.
    /// </summary>
    [TestCase(TensorLayout.Nchw, nameof(Conv2dCoopMatPatch), "conv2d/conv2d.fwd_coopmat_patch.unpool.f16")]
    [TestCase(TensorLayout.Nhwc, nameof(Conv2dCoopMatPatchNhwc), "conv2d/conv2d.fwd_coopmat_patch.nhwc.unpool.f16")]
    public void Patch_TheInputGradientOfThePoolsReader_WritesThePoolsGradient(TensorLayout layout, string entry, string kernel) =>
        PoolGradientTakenBy(layout, entry, kernel);

    /// <summary>The checks of <see cref="Patch_TheInputGradientOfThePoolsReader_WritesThePoolsGradient"/> with
    /// <paramref name="entry"/> named, whose .unpool variant <paramref name="kernel"/> must take the pool's gradient.</summary>
    internal static void PoolGradientTakenBy(TensorLayout layout, string entry, string kernel)
    {
        var (plan, plainPlan) = UNetStepAsTheUnfusedStep(layout, entry, nameof(Conv2dInputGradFlipped));
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv2d_2.bwd_input+maxpool2d_0.bwd")?.Kernel, Is.EqualTo(kernel),
            Graph.ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/pool.bwd"));
        Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/pool.bwd"));
    }

    /// <summary>
    /// A two-level UNet's (InpaintUNet with 16 and 32 channels) Fp16 training step in <paramref name="layout"/> with
    /// <paramref name="names"/> preferred, fused and unfused (Fuse = false: separate layers and passes): the loss and every
    /// gradient, none all zeros, within <see cref="Tolerances.F16Storage"/> of each other. The two plans.
    /// </summary>
    static (PlanReport Fused, PlanReport Plain) UNetStepAsTheUnfusedStep(TensorLayout layout, params string[] names)
    {
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 8, 16), ["target"] = new(2, 3, 8, 16) };
        var net = InpaintUNet.BuildForTraining(16, 32);
        var step = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, subPixel: false, LossScaling.Off,
            layout, out var plan, names);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, subPixel: false, LossScaling.Off,
            layout, out var plainPlan, names);
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            F16StorageCheck.Close(step[name], values, Tolerances.F16Storage, name);
        }
        return (plan, plainPlan);
    }

    /// <summary>A fused activation, applied per accumulator element before the f16 store, in the forward and the input gradient.</summary>
    [Test]
    public void Patch_FusedActivation_MatchesThePlainKernels()
    {
        var f16 = F16StorageConvTests.Matches(new Conv2d(16, 32, 3, padding: 1), new Shape(2, 16, 8, 16), texelReads: false, PatchNamed, Patch, new Tanh());
        Assert.That(f16.Kernels.Count(k => k == Patch), Is.EqualTo(2), "forward and input gradient: " + string.Join(", ", f16.Kernels));
    }

    /// <summary>
    /// Under Fp16 with Autotune the cooperative-matrix candidates (forward tiles of both kernels, the patch kernel's with
    /// its weight packing; weight-gradient tiles of both kernels, split ones with their ordered sum) are timed against the plain kernels
    /// and agree with them within the tuner's 1e-2; the tuned layer still matches its f32 run.
    /// </summary>
    [Test]
    public void Autotune_TimesTheCooperativeMatrixCandidates()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-coopmat-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var layer = new Conv2d(16, 24, 3, padding: 1);
            var net = new Network();
            var y = net.Add(layer, "conv", net.Input("x"));
            net.Output(y, "y");
            net.SetLoss(new DotLoss(), y, net.Input("grad_y"));
            var xShape = new Shape(2, 16, 20, 18);
            using var compiled = net.Compile(ctx, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = layer.OutputShape(new[] { xShape }) },
                Training = true, LearningRate = 0, Fuse = false, Autotune = true, Precision = Precision.Fp16, LossScaling = LossScaling.Off,
                ActivationLayout = TensorLayout.Nchw, // the kernel choices alone, not the layout's
                PreferKernels = new[]
                {
                    nameof(Conv2dCoopMatPatch), nameof(Conv2dCoopMat), nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dWeightGradCoopMat),
                    nameof(Conv2dWeightGradTiled),
                },
            });
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the plain kernel");
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            Assert.That(choices, Does.Contain("conv2d.fwd|Conv2dCoopMatPatch+Conv2dCoopMat+").And.Contain("conv2d.bwd_weight|Conv2dWeightGradCoopMatPatch+Conv2dWeightGradCoopMat+Conv2dWeightGradTiled"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A fused activation (applied in the epilogue, before the f16 store) and the cooperative-matrix input gradient of a layer that has one.</summary>
    [Test]
    public void FusedActivation_MatchesThePlainKernels()
    {
        var f16 = F16StorageConvTests.Matches(new Conv2d(16, 32, 3, padding: 1), new Shape(2, 16, 9, 8), texelReads: false, Named, Forward, new Tanh());
        Assert.That(f16.Kernels.Count(k => k == Forward), Is.EqualTo(2), "forward and input gradient: " + string.Join(", ", f16.Kernels));
    }
}
