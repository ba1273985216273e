using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The patch kernels' wide tiles (tuning candidates only, run here by name: CompileOptions.PreferKernels
/// "Entry:tile"): the forward's 4 S output channels per subgroup (<see cref="PatchTile"/> with Tm 4) make the same
/// products in the same order as its default tile, so a layer's forward and a step's input gradients in a wide tile are
/// the default tile's bit for bit; the weight gradient's 2 S rows per subgroup (<see cref="WeightGradTile"/> with Tm 2)
/// sum the same products, split over workgroups as their count says. NCHW and NHWC, with partial pixel and channel
/// tiles. Needs cooperative matrices (tools/coopmat-lavapipe.sh).
/// </summary>
public sealed class CooperativeMatrixPatchWideTilesTests : CooperativeMatrixTest
{
    static string Forward(TensorLayout layout) => layout == TensorLayout.Nhwc ? nameof(Conv2dCoopMatPatchNhwc) : nameof(Conv2dCoopMatPatch);

    /// <summary>The wide tiles of a 40-channel layer at lavapipe's S = 8 (2 subgroups along the channels) as (subgroups along
    /// the rows, rows per subgroup).</summary>
    static IEnumerable<TestCaseData> WideForwardTiles() =>
        from layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc }
        from t in new[] { (2, 4), (4, 4), (4, 2) }
        select new TestCaseData(t.Item1, t.Item2, layout).SetArgDisplayNames($"{new PatchTile(2, t.Item1, t.Item2, Tm: 4).Name}_{layout}");

    [TestCaseSource(nameof(WideForwardTiles))]
    public void Forward_InAWideTile_IsTheDefaultTilesBitForBit(int subgroupsN, int rows, TensorLayout layout)
    {
        var tile = new PatchTile(2, subgroupsN, rows, Tm: 4);
        var conv = new Conv2d(24, 40, 3, padding: 1);
        var x = new Shape(2, 24, 9, 21);
        Assert.That(Conv2dCoopMatPatch.Tiles(Context.KernelDevice, conv.Attributes, 40), Does.Contain(tile), "the tile fits lavapipe");
        var plain = PatchKernelRuns.Forward(Context, conv, x, layout, new[] { Forward(layout) });
        var wide = PatchKernelRuns.Forward(Context, conv, x, layout, new[] { $"{Forward(layout)}:{tile.Name}" });
        Assert.That(wide.Y, Is.EqualTo(plain.Y), "bit for bit");
        Assert.That(plain.Y.Count(v => v != 0), Is.GreaterThan(plain.Y.Length / 4), "a real output");
        Assert.That(Groups(wide.Plan, "conv.fwd"), Is.EqualTo($"{2 * ((9 + rows * subgroupsN - 1) / (rows * subgroupsN)) * 3}x1x1"),
            "2 images of ceil(9 / tile rows) x 3 tiles by one of 64 channels");
    }

    /// <summary>The .sa variant (weights staged in shared memory) in the wide tile of 4 subgroups of 4 rows (24 channels in
    /// one of 32: its weight blocks and patch within lavapipe's 32 KiB), the patch kernel's default tile's results bit
    /// for bit.</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void SharedWeights_InAWideTile_IsThePatchKernelsBitForBit(TensorLayout layout)
    {
        var conv = new Conv2d(24, 24, 3, padding: 1);
        var x = new Shape(2, 24, 9, 21);
        var tile = new PatchTile(1, 4, 4, Tm: 4);
        Assert.That(Conv2dCoopMatPatch.FitsSharedWeights(Context.KernelDevice, conv.Attributes, tile), Is.True);
        var plain = PatchKernelRuns.Forward(Context, conv, x, layout, new[] { Forward(layout) }, seed: 4);
        string sa = layout == TensorLayout.Nhwc ? nameof(Conv2dCoopMatPatchSharedWeightsNhwc) : nameof(Conv2dCoopMatPatchSharedWeights);
        var wide = PatchKernelRuns.Forward(Context, conv, x, layout, new[] { $"{sa}:{tile.Name}_sa" }, seed: 4);
        Assert.That(wide.Plan.Dispatches.Single(d => d.Label == "conv.fwd").Kernel, Does.Contain(".sa."));
        Assert.That(Groups(wide.Plan, "conv.fwd"), Is.EqualTo("6x1x1"), "2 images of 1 x 3 tiles of 16 x 8 pixels");
        Assert.That(wide.Y, Is.EqualTo(plain.Y), "bit for bit");
    }

    /// <summary><see cref="PatchKernelRuns.ReluPairGradients"/>: both forwards and both input gradients (conv2's through the
    /// ReLU, the .dact form) in the wide tile of 4 subgroups of 4 rows.</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void Gradients_InAWideTile_AreTheDefaultTilesBitForBit(TensorLayout layout)
    {
        var plain = PatchKernelRuns.ReluPairGradients(Context, layout, new[] { Forward(layout) });
        var wide = PatchKernelRuns.ReluPairGradients(Context, layout, new[] { $"{Forward(layout)}:{new PatchTile(1, 4, 4, Tm: 4).Name}" });
        // 2 images of 10 x 18 pixels in tiles of 16 rows by 8 columns: 2 x 1 x 3.
        foreach (var label in new[] { "conv1.fwd", "conv2.fwd", "conv2.bwd_input", "conv1.bwd_input" })
            Assert.That(Groups(wide.Plan, label), Is.EqualTo("6x1x1"), $"{label}: the wide tile's workgroups");
        foreach (var (name, g) in plain.Grads)
        {
            Assert.That(wide.Grads[name], Is.EqualTo(g).AsCollection, name);
            Assert.That(g.Count(v => v != 0), Is.GreaterThan(g.Length / 4), $"{name}: a real gradient");
        }
    }

    /// <summary>A layer's weight and bias gradients from a given output gradient, the weight gradient in the wide tile of
    /// 4 subgroups along C1 (64 rows at lavapipe's S = 8) by 2 along C2.</summary>
    [TestCase(TensorLayout.Nchw)]
    [TestCase(TensorLayout.Nhwc)]
    public void WeightGradient_InAWideTile_IsTheDefaultTiles(TensorLayout layout)
    {
        var conv = new Conv2d(24, 40, 3, padding: 1);
        var x = new Shape(2, 24, 9, 21);
        var y = conv.OutputShape(new[] { x });
        var net = new Network();
        net.SetOutputGradient(net.Add(conv, "conv", net.Input("x")), net.Input("g"));
        var (xs, gs) = (RandomData.Uniform((int)x.Elements, 9).Select(v => (float)v).ToArray(), RandomData.Uniform((int)y.Elements, 10).Select(v => (float)v).ToArray());
        string entry = layout == TensorLayout.Nhwc ? nameof(Conv2dWeightGradCoopMatPatchNhwc) : nameof(Conv2dWeightGradCoopMatPatch);
        var tile = new WeightGradTile(4, 2, 8, Tm: 2);
        Assert.That(Conv2dWeightGradCoopMatPatch.Tiles(Context.KernelDevice, conv.Attributes, 40, 24, layout == TensorLayout.Nhwc), Does.Contain(tile));
        (Dictionary<string, float[]> Grads, PlanReport Plan) Run(string prefer)
        {
            using var c = net.Compile(Context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["g"] = y }, Training = true, UpdateParameters = false,
                Precision = Precision.Fp16, TexelReads = false, ActivationLayout = layout, PreferKernels = new[] { prefer }, Seed = 5,
            });
            c.SetInput("x", xs);
            c.SetInput("g", gs);
            c.Run();
            return (c.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), c.Plan);
        }
        var plain = Run(entry);
        var wide = Run($"{entry}:{tile.Name}");
        // C2 = 24 in 2 x 8 columns, C1 = 40 in one tile of 4 x 2 x 8 rows (the default's 4 x 8 rows: 2).
        Assert.That(Groups(wide.Plan, "conv.bwd_weight"), Does.StartWith("2x1x"), "the wide tile's workgroups");
        Assert.That(Groups(plain.Plan, "conv.bwd_weight"), Does.StartWith("2x2x"), "the default tile's workgroups");
        foreach (var (name, g) in plain.Grads)
        {
            // The same f16 products summed in f32; a different split of the pixel tiles changes only the order.
            Assert.That(RelativeError.MaxRelative(wide.Grads[name], g), Is.LessThan(1e-5), name);
            Assert.That(g.Count(v => v != 0), Is.GreaterThan(g.Length / 2), $"{name}: a real gradient");
        }
    }

    /// <summary>The workgroups of the plan's dispatch labelled <paramref name="label"/>.</summary>
    static string Groups(PlanReport plan, string label) => plan.Dispatches.Single(d => d.Label == label).Groups;
}
