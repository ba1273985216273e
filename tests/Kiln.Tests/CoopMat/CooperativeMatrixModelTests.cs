using Kiln.Layers;
using Kiln.Models;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The inpainting UNet's whole training step at Fp16 with the tensor-core kernels named, as a GPU plans it: every fusion
/// of a training plan together (the decoders' .concat forwards and sub-pixel gradients, the activations' derivatives in
/// the input gradients' .dact epilogues and, with the pools' gradients, in their readers' .unpool epilogues, and in the loss's, the bias gradients in the patch weight
/// gradients' .bias variant, the 4x4 weight gradients in tap blocks), against the unfused Fp16 plan (separate layers,
/// every concatenation written, each activation's and pool's gradient a pass of its own; its weight gradients take the
/// .bias variant too, which CooperativeMatrixConvTests checks against the Fp32 plan). Against the Fp32 plan both
/// differ alike, by up to 11% of x's gradient, where f16 rounding moves a pre-activation across a ReLU's kink fifteen
/// layers deep.
/// </summary>
public sealed class CooperativeMatrixModelTests : CooperativeMatrixTest
{
    static readonly string[] Named =
    {
        nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dInputGradFlipped), nameof(Conv2dInputGradCoopMatStrided),
    };

    /// <summary>
    /// The loss and every gradient within <see cref="Tolerances.F16Storage"/> of the largest value; no activation or bias
    /// pass of its own where the fusions take them. A fixed loss scale of 2^10 (the gradients compared unscaled) keeps
    /// the deep layers' gradients out of f16's subnormal range.
    /// </summary>
    [Test]
    public void InpaintingStep_AllFusionsTogether_AsTheUnfusedStep()
    {
        var net = InpaintUNet.BuildForTraining();
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, 4, 32, 32), ["target"] = new(1, 3, 32, 32) };
        var scaling = new LossScaling { Initial = 1024, GrowthInterval = 0 };
        var fused = Graph.ActivationGradientFusionTests.Step(net, shapes, true, Precision.Fp16, texelReads: false, subPixel: true, scaling, out var plan, Named);
        var plain = Graph.ActivationGradientFusionTests.Step(net, shapes, false, Precision.Fp16, texelReads: false, subPixel: true, scaling, out var plainPlan, Named);
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        string all = Graph.ActivationGradientFusionTests.Kernels(plan);
        Assert.That(kernels, Has.Some.EqualTo("conv2d/conv2d.fwd_coopmat_patch.dact.f16").And.Some.EqualTo("conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16")
            .And.Some.EqualTo("conv2d/conv2d.subpixel_weight_grad").And.Some.EqualTo("conv2d/conv2d.fwd_coopmat_patch.unpool.f16")
            .And.None.StartsWith("pool/"), all);
        Assert.That(kernels.Count(k => k.StartsWith("conv2d/conv2d.bwd_bias", StringComparison.Ordinal)), Is.EqualTo(1), "the last conv's (3 channels): " + all);
        Assert.That(kernels.Count(k => k.StartsWith("elementwise/unary.bwd", StringComparison.Ordinal)), Is.EqualTo(0), "the loss takes the last one's: " + all);
        Assert.That(plainPlan.Dispatches.Count(d => d.Kernel.StartsWith("elementwise/unary.bwd", StringComparison.Ordinal)), Is.EqualTo(15));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
        }
    }
}
