using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The patch kernel's .sa variant (<see cref="Conv2dCoopMatPatchSharedWeights"/>: its weights staged in shared memory
/// beside the patch): the same products in the same order as the patch kernel, so a layer's forward, and a training
/// step's gradients through its .sa.dact form, are the patch kernel's bit for bit, NCHW and NHWC, on shapes with whole
/// and partial tiles and channel steps; its .sa.unpool form takes a pool's gradient. Needs cooperative matrices
/// (tools/coopmat-lavapipe.sh).
/// </summary>
public sealed class CooperativeMatrixPatchSharedWeightsTests : CooperativeMatrixTest
{
    static IEnumerable<TestCaseData> Layers()
    {
        foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            yield return new TestCaseData(new Conv2d(32, 32, 3, padding: 1), new Shape(1, 32, 12, 40), layout).SetArgDisplayNames($"whole_tiles_{layout}");
            yield return new TestCaseData(new Conv2d(24, 40, 3, padding: 1), new Shape(2, 24, 9, 21), layout).SetArgDisplayNames($"partial_{layout}");
            yield return new TestCaseData(new Conv2d(16, 48, 1), new Shape(1, 16, 10, 12), layout).SetArgDisplayNames($"1x1_{layout}");
        }
    }

    static string[] Named(TensorLayout layout, bool shared) => layout == TensorLayout.Nhwc
        ? new[] { shared ? nameof(Conv2dCoopMatPatchSharedWeightsNhwc) : nameof(Conv2dCoopMatPatchNhwc) }
        : new[] { shared ? nameof(Conv2dCoopMatPatchSharedWeights) : nameof(Conv2dCoopMatPatch) };

    static string Module(TensorLayout layout, string variant) =>
        $"conv2d/conv2d.fwd_coopmat_patch{(layout == TensorLayout.Nhwc ? ".nhwc" : "")}{variant}.f16";

    [TestCaseSource(nameof(Layers))]
    public void Forward_IsThePatchKernelsBitForBit(Conv2d conv, Shape x, TensorLayout layout)
    {
        var patch = PatchKernelRuns.Forward(Context, conv, x, layout, Named(layout, shared: false));
        var sa = PatchKernelRuns.Forward(Context, conv, x, layout, Named(layout, shared: true));
        Assert.That(sa.Plan.Dispatches.Select(d => d.Kernel), Does.Contain(Module(layout, ".sa")));
        Assert.That(patch.Plan.Dispatches.Select(d => d.Kernel), Does.Contain(Module(layout, "")));
        Assert.That(sa.Y, Is.EqualTo(patch.Y), "bit for bit");
        Assert.That(patch.Y.Count(v => v != 0), Is.GreaterThan(patch.Y.Length / 4), "a real output");
    }

    /// <summary>x -> conv1 -> ReLU -> conv2, from a given output gradient, the input gradients as forward convolutions of
    /// the flipped weight (Conv2dInputGradFlipped named): conv2's takes the ReLU's gradient in its epilogue (the .sa.dact
    /// form), conv1's is the plain form.</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void Gradients_AreThePatchKernelsBitForBit(TensorLayout layout)
    {
        var patch = PatchKernelRuns.ReluPairGradients(Context, layout, Named(layout, shared: false));
        var sa = PatchKernelRuns.ReluPairGradients(Context, layout, Named(layout, shared: true));
        var kernels = sa.Plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Does.Contain(Module(layout, ".sa.dact")), "conv2's input gradient through the ReLU");
        Assert.That(kernels, Does.Contain(Module(layout, ".sa")), "conv1's input gradient and the forwards");
        foreach (var (name, g) in patch.Grads)
        {
            Assert.That(sa.Grads[name], Is.EqualTo(g).AsCollection, name);
            Assert.That(g.Count(v => v != 0), Is.GreaterThan(g.Length / 4), $"{name}: a real gradient");
        }
    }

    /// <summary>The pool's gradient in the .sa form's .unpool variant: a UNet step as the unfused one
    /// (<see cref="CooperativeMatrixConvTests.PoolGradientTakenBy"/>).</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void ThePoolsGradient_InTheSharedWeightForm(TensorLayout layout) =>
        CooperativeMatrixConvTests.PoolGradientTakenBy(layout, Named(layout, shared: true)[0], Module(layout, ".sa.unpool"));
}
