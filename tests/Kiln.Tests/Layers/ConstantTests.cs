using NUnit.Framework;

namespace Kiln.Tests.Layers;

public sealed class ConstantTests : GpuTest
{
    [Test]
    public void OutputIsTheValue_ItsGradientTheOutputGradient_TheAnchorGetsZero()
    {
        var value = FixtureLayer.Uniform(6, 1);
        var gy = FixtureLayer.Uniform(6, 2);
        var x = FixtureLayer.Uniform(4, 3);
        var res = LayerHarness.Run(Context, new Constant(new Shape(2, 3), trainable: true), new[] { new Shape(4) }, new[] { x },
            new Dictionary<string, float[]> { ["value"] = value }, gy);
        Assert.That(res.OutputShape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(res.Output, Is.EqualTo(value), "a copy of the value");
        Assert.That(res.ParameterGradients["value"], Is.EqualTo(gy), "d value = dy");
        Assert.That(res.InputGradients[0], Is.EqualTo(new float[4]), "the anchor input's gradient is zero");
    }

    [Test]
    public void NotTrainable_HasNoGradient()
    {
        var res = LayerHarness.Run(Context, new Constant(new Shape(3)), new[] { new Shape(2) }, new[] { new float[2] },
            new Dictionary<string, float[]> { ["value"] = new[] { 1f, 2f, 3f } }, new[] { 1f, 1f, 1f });
        Assert.That(res.Output, Is.EqualTo(new[] { 1f, 2f, 3f }));
        Assert.That(res.ParameterGradients, Is.Empty);
    }
}
