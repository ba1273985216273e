using Kiln.Layers;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The arithmetic the tensor-core paths record per dispatch for `kiln bench --kernels` (<see cref="PlannedDispatch.Flops"/>):
/// the patch kernel with its weight packed in a pass of its own, the flipped stride-1 input gradient, and a strided
/// layer's input gradient and a transposed convolution's forward by phase (4x4 kernels of stride 2: every phase's 2x2 taps
/// in one dispatch), against the layers' multiply-adds counted here.
/// </summary>
public sealed class CooperativeMatrixPlanWorkTests : CooperativeMatrixTest
{
    static readonly string[] Named =
    {
        nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch), nameof(Conv2dWeightGradCoopMat), nameof(Conv2dInputGradFlipped),
        nameof(Conv2dInputGradCoopMatStrided),
    };

    [Test]
    public void PatchFlippedAndPhases_CarryTheLayersArithmetic()
    {
        const int n = 2;
        var net = new Sequential(new Conv2d(16, 32, 3, padding: 1), new ReLU(), new Conv2d(32, 16, 3, padding: 1), new ReLU(),
            new Conv2d(16, 24, 4, stride: 2, padding: 1), new ReLU(), new ConvTranspose2d(24, 16, 4, stride: 2, padding: 1)).WithLoss(new MseLoss());
        var x = new Shape(n, 16, 12, 10);
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["target"] = x },
            Training = true, Precision = Precision.Fp16, TexelReads = false, PreferKernels = Named,
        });
        double pixels = n * 12 * 10, half = n * 6 * 5;
        double conv0 = 2.0 * 16 * 9 * 32 * pixels, conv1 = 2.0 * 32 * 9 * 16 * pixels, conv2 = 2.0 * 16 * 16 * 24 * half;
        double transposed = 2.0 * 16 * 16 * 24 * half; // each of the 24-channel input's elements meets 4x4 weights of 16 outputs
        var expected = new Dictionary<string, double>
        {
            ["conv2d_0.fwd"] = conv0, ["conv2d_0.bwd_weight"] = conv0,
            ["conv2d_1.fwd"] = conv1, ["conv2d_1.bwd_weight"] = conv1, ["conv2d_1.bwd_input"] = conv1,
            ["conv2d_2.fwd"] = conv2, ["conv2d_2.bwd_weight"] = conv2, ["conv2d_2.bwd_input"] = conv2,
            ["conv_transpose2d_0.fwd"] = transposed, ["conv_transpose2d_0.bwd_weight"] = transposed, ["conv_transpose2d_0.bwd_input"] = transposed,
        };
        var plan = c.Plan.Dispatches;
        string Layer(string label) => label.Contains(".phase") ? label[..label.IndexOf(".phase", StringComparison.Ordinal)] : label;
        var byLayer = plan.Where(d => d.Flops > 0).GroupBy(d => Layer(d.Label)).ToDictionary(g => g.Key, g => g.Sum(d => d.Flops));
        Assert.That(byLayer.Keys, Is.EquivalentTo(expected.Keys), string.Join(", ", plan.Select(d => $"{d.Label} {d.Kernel} {d.Flops}")));
        foreach (var (label, flops) in expected) Assert.That(byLayer[label], Is.EqualTo(flops).Within(1e-9).Percent, label);
        Assert.That(plan.Where(d => d.Label.StartsWith("conv2d_2.bwd_input") && d.Flops > 0).Select(d => d.Kernel),
            Is.EqualTo(new[] { "conv2d/conv2d.fwd_coopmat_patch.phases.dact.f16" }), "the strided gradient's phases in one dispatch");
        Assert.That(plan.Where(d => d.Label.StartsWith("conv2d_0.fwd") && d.Flops > 0).Select(d => d.Kernel), Is.EqualTo(new[] { "conv2d/conv2d.fwd_coopmat_patch.f16" }));
        Assert.That(plan.Where(d => d.Kernel.Contains("pack_weight")), Has.All.Matches<PlannedDispatch>(d => d.Flops == 0), "packing passes carry none");
    }
}
