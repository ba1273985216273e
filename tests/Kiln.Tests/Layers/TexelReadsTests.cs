using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// CompileOptions.TexelReads: the conv and linear kernels' texel-read variants (*.texel modules: inputs through
/// R32_SFLOAT texel views, small conv weights from a uniform buffer), the default on lavapipe, and their storage-buffer
/// originals (what a GPU runs), both against the double CPU references on the same shapes: forward and both gradients
/// of Conv2d (strided, grouped, dilated, padded), ConvTranspose2d and Linear. Also: which modules each setting picks,
/// and that a conv weight too large for a uniform buffer is read through a texel view as well.
/// </summary>
public sealed class TexelReadsTests : GpuTest
{
    // n, cin, cout, h, w, k, stride, padding, dilation, groups
    [TestCase(2, 3, 5, 9, 8, 3, 1, 1, 1, 1, true, TestName = "TexelReads_Conv2d_Padded")]
    [TestCase(3, 16, 32, 14, 14, 3, 2, 1, 1, 1, true, TestName = "TexelReads_Conv2d_StridedLikeFashionAe")]
    [TestCase(2, 6, 8, 11, 10, 3, 2, 1, 2, 2, true, TestName = "TexelReads_Conv2d_GroupedStridedDilated")]
    [TestCase(2, 6, 8, 11, 10, 3, 2, 1, 2, 2, false, TestName = "StorageReads_Conv2d_GroupedStridedDilated")]
    [TestCase(3, 16, 32, 14, 14, 3, 2, 1, 1, 1, false, TestName = "StorageReads_Conv2d_StridedLikeFashionAe")]
    public void Conv2dMatchesReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int d, int g, bool texel)
    {
        int r = 7100 + cin + 3 * cout + h;
        var layer = new Conv2d(cin, cout, (k, k), (s, s), (p, p), (d, d), g);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cout * (cin / g) * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy, texelReads: texel);
        AssertVariants(res.Kernels, texel, "conv2d/conv2d.fwd", "conv_transpose2d/conv_transpose2d.fwd");

        var spec = new Conv2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, d, d, g);
        var y = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, gb) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    // n, cin, cout, h, w, k, stride, padding, output padding
    [TestCase(3, 32, 16, 7, 7, 3, 2, 1, 1, true, TestName = "TexelReads_ConvTranspose2d_LikeFashionAe")]
    [TestCase(2, 16, 1, 14, 14, 3, 2, 1, 1, true, TestName = "TexelReads_ConvTranspose2d_OneChannelOut")]
    [TestCase(3, 32, 16, 7, 7, 3, 2, 1, 1, false, TestName = "StorageReads_ConvTranspose2d_LikeFashionAe")]
    public void ConvTranspose2dMatchesReference(int n, int cin, int cout, int h, int w, int k, int s, int p, int op, bool texel)
    {
        int r = 7300 + cin + 3 * cout + h;
        var layer = new ConvTranspose2d(cin, cout, k, s, p, op);
        var xShape = new Shape(n, cin, h, w);
        var x = FixtureLayer.Uniform(xShape.Elements, r++);
        var wt = FixtureLayer.Uniform((long)cin * cout * k * k, r++);
        var b = FixtureLayer.Uniform(cout, r++);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, r++);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy, texelReads: texel);
        AssertVariants(res.Kernels, texel, "conv_transpose2d/conv_transpose2d.fwd", "conv2d/conv2d.fwd");

        var spec = new ConvTranspose2dSpec(n, cin, h, w, cout, k, k, s, s, p, p, op, op);
        var y = RefConvTranspose2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, gb) = RefConvTranspose2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    // n, in, out
    [TestCase(128, 1568, 32, true, TestName = "TexelReads_Linear_LikeFashionAe")]
    [TestCase(7, 13, 9, true, TestName = "TexelReads_Linear_PartialBlocks")]
    [TestCase(7, 13, 9, false, TestName = "StorageReads_Linear_PartialBlocks")]
    public void LinearMatchesReference(int n, int inF, int outF, bool texel)
    {
        int r = 7500 + inF + outF;
        var layer = new Linear(inF, outF);
        var x = FixtureLayer.Uniform(n * inF, r++);
        var wt = FixtureLayer.Uniform(outF * inF, r++);
        var b = FixtureLayer.Uniform(outF, r++);
        var gy = FixtureLayer.Uniform(n * outF, r++);
        var res = LayerHarness.Run(Context, layer, new[] { new Shape(n, inF) }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy, texelReads: texel);
        Assert.That(res.Kernels.Where(m => m.StartsWith("linear/linear.gemm")),
            texel ? Is.All.EqualTo("linear/linear.gemm.texel") : Is.All.EqualTo("linear/linear.gemm"));
        Assert.That(res.Kernels, Has.Exactly(3).StartsWith("linear/linear.gemm"), "forward, grad_x, grad_weight");

        var y = RefLinear.Forward(ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b), n, inF, outF);
        var (gx, gw, gb) = RefLinear.Backward(ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy), n, inF, outF);
        ConvTest.AssertMatches(res, y, gx, gw, gb);
    }

    /// <summary>Left to the device (null), lavapipe takes the texel-read variants.</summary>
    [Test]
    public void LavapipeTakesTheTexelVariantsByDefault()
    {
        Assume.That(Context.Info.IsCpu, "the default differs on a GPU");
        var layer = new Conv2d(4, 6, 3, 2, 1);
        var xShape = new Shape(2, 4, 9, 9);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { FixtureLayer.Uniform(xShape.Elements, 1) },
            null, FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, 2));
        AssertVariants(res.Kernels, texel: true, "conv2d/conv2d.fwd", "conv_transpose2d/conv_transpose2d.fwd");
    }

    /// <summary>
    /// A weight over 64 KiB (64 x 64 x 3 x 3 floats) does not fit the texel variants' uniform buffer: the forward and
    /// the input-gradient gather read it through a texel view too (*.texel_weights), and the results still match the
    /// reference.
    /// </summary>
    [Test]
    public void WeightTooLargeForAUniformBufferIsReadThroughATexelView()
    {
        var layer = new Conv2d(64, 64, 3, 2, 1);
        var xShape = new Shape(1, 64, 6, 6);
        var x = FixtureLayer.Uniform(xShape.Elements, 21);
        var wt = FixtureLayer.Uniform(64 * 64 * 9, 22);
        var b = FixtureLayer.Uniform(64, 23);
        var gy = FixtureLayer.Uniform(layer.OutputShape(new[] { xShape }).Elements, 24);
        var res = LayerHarness.Run(Context, layer, new[] { xShape }, new[] { x },
            new Dictionary<string, float[]> { ["weight"] = wt, ["bias"] = b }, gy, texelReads: true);
        Assert.That(res.Kernels, Does.Contain("conv2d/conv2d.fwd.texel_weights").And.Contain("conv_transpose2d/conv_transpose2d.fwd.texel_weights")
            .And.Contain("conv2d/conv2d.bwd_weight.texel"));

        var spec = new Conv2dSpec(1, 64, 6, 6, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1);
        var y = RefConv2d.Forward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(b));
        var (gx, gw, _) = RefConv2d.Backward(spec, ConvTest.D(x), ConvTest.D(wt), ConvTest.D(gy));
        ConvTest.AssertMatches(res, y, gx, gw, null);
    }

    /// <summary>The layer's forward and input-gradient kernels, and the weight gradient, are all of one variant.</summary>
    static void AssertVariants(string[] kernels, bool texel, string forward, string inputGrad)
    {
        string suffix = texel ? ".texel" : "";
        Assert.That(kernels, Does.Contain(forward + suffix), "forward");
        Assert.That(kernels, Does.Contain(inputGrad + suffix), "input gradient");
        var weightGrad = kernels.Where(m => m.StartsWith("conv2d/conv2d.bwd_weight")).ToArray();
        Assert.That(weightGrad, Is.Not.Empty, "weight gradient");
        if (texel) Assert.That(weightGrad, Is.All.EndWith(".texel"), "weight gradient");
        else Assert.That(kernels, Has.None.EndsWith(".texel"), "no texel variant");
    }
}
