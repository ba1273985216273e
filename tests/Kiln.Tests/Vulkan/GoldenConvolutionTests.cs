using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>
/// The direct convolution kernel driven through the internal API (KernelSpec, recorder, command list),
/// without the graph compiler: the course's worked example must come out exactly, and a strided, padded,
/// dilated, grouped case with bias and ReLU must match a naive CPU convolution.
/// </summary>
public sealed class GoldenConvolutionTests : GpuTest
{
    static float[] RunConv(ConvCase c, float[] x, float[] w, float[] bias, bool bakeShapes, uint local)
    {
        using var tx = Tensor.From(Context, c.XShape, x, "x");
        using var tw = Tensor.From(Context, c.WShape, w, "w");
        using var tb = Tensor.From(Context, new Shape(bias.Length), bias, "bias");
        using var ty = new Tensor(Context, c.YShape, name: "y");
        ty.Upload(Enumerable.Repeat(float.NaN, (int)ty.Elements).ToArray()); // nothing stale can pass for a result
        using var list = Context.CreateCommandList("golden conv");
        ConvKernel.Record(list.Recorder, c, tx, tw, tb, ty, bakeShapes, local);
        Assert.That(list.DispatchCount, Is.EqualTo(1));
        list.Run();
        return ty.ToArray();
    }

    [TestCase(true, 64u, TestName = "CourseExample_WithShapesBakedIntoSpecializationConstants_IsExact")]
    [TestCase(false, 64u, TestName = "CourseExample_WithShapesFromPushConstants_IsExact")]
    [TestCase(true, 2u, TestName = "CourseExample_WithSeveralWorkgroups_IsExact")]
    [TestCase(false, 1u, TestName = "CourseExample_WithOneInvocationPerWorkgroupAndPushConstants_IsExact")]
    public void CourseExample(bool bakeShapes, uint local)
    {
        var c = ConvKernel.Golden;
        Assert.That((c.OH, c.OW), Is.EqualTo((3, 3)));
        var y = RunConv(c, ConvKernel.GoldenX, ConvKernel.GoldenW, new[] { 1000f }, bakeShapes, local);
        Assert.That(y, Is.EqualTo(ConvKernel.GoldenY), "y = [[12,12,17],[10,17,19],[9,6,14]]; the bias (HAS_BIAS=0) must be ignored");
    }

    static readonly ConvCase Grouped = new(N: 2, Cin: 4, H: 9, W: 11, Cout: 6, KH: 3, KW: 2,
        SH: 2, SW: 2, PH: 1, PW: 1, DH: 2, DW: 2, Groups: 2, HasBias: true, Act: 1);

    [TestCase(true, TestName = "StridedPaddedDilatedGroupedConvWithBiasAndReLU_MatchesNaiveConv_ShapesBaked")]
    [TestCase(false, TestName = "StridedPaddedDilatedGroupedConvWithBiasAndReLU_MatchesNaiveConv_ShapesPushed")]
    public void GroupedCase(bool bakeShapes)
    {
        var c = Grouped;
        var r = new Random(20240611);
        var x = ConvKernel.Random(r, (int)c.XShape.Elements);
        var w = ConvKernel.Random(r, (int)c.WShape.Elements);
        var b = ConvKernel.Random(r, c.Cout);
        var expected = ConvKernel.Naive(c, x, w, b);
        Assert.That(expected.Count(v => v > 0), Is.GreaterThan(expected.Length / 5), "ReLU should leave a fair share of outputs positive");
        Assert.That(expected.Count(v => v == 0), Is.GreaterThan(0), "ReLU should clamp some outputs");
        var actual = RunConv(c, x, w, b, bakeShapes, 64);
        Assert.That(ConvKernel.RelativeError(actual, expected), Is.LessThan(1e-4));
    }
}
