using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// A batch norm folded into a convolution that runs on tensor cores: the patch kernel packs the folded weight (a derived
/// value, recomputed each step) to f16 after the fold pass writes it. Against the unfused plan at fp16 storage.
/// </summary>
public sealed class CooperativeMatrixBatchNormFoldTests : CooperativeMatrixTest
{
    static float[] Run(bool fuse, out PlanReport plan)
    {
        var net = new Network();
        var y = net.Add(new ReLU(), "relu", net.Add(new BatchNorm2d(32), "bn", net.Add(new Conv2d(16, 32, 3, padding: 1), "conv", net.Input("x"))));
        net.Output(y, "y");
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, 16, 12, 16) }, Fuse = fuse, Precision = Precision.Fp16,
            TexelReads = false, PreferKernels = new[] { nameof(Conv2dCoopMatPatch) },
        });
        int seed = 5;
        c.SetInput("x", RandomData.Uniform(16 * 12 * 16, seed++).Select(v => (float)v).ToArray());
        foreach (var (name, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var (lo, hi) = name.EndsWith("running_var") ? (0.5, 2.0) : (-0.5, 0.5);
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, lo, hi).Select(v => (float)v).ToArray());
        }
        c.Run();
        plan = c.Plan;
        return c.GetOutput("y");
    }

    [Test]
    public void FoldedWeight_IsPackedForThePatchKernel_MatchingTheUnfusedPlan()
    {
        var folded = Run(true, out var plan);
        var plain = Run(false, out _);
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Has.Some.EqualTo("batchnorm/batchnorm.fold").And.Some.StartsWith("conv2d/conv2d.pack_weight_f16")
            .And.Some.StartsWith("conv2d/conv2d.fwd_coopmat_patch"));
        Assert.That(kernels, Has.None.StartsWith("batchnorm/batchnorm.apply"));
        F16StorageCheck.Close(folded, plain, Tolerances.F16Storage, "y");
    }
}
