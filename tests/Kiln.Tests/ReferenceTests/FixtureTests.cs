using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary>The PyTorch fixtures are where the tests expect them, well-formed, and f32-exact in their inputs.</summary>
public sealed class FixtureTests
{
    static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(Fixture.FolderPath, "*.json").Select(Path.GetFileNameWithoutExtension).OrderBy(n => n)!;

    static readonly string[] Ops =
    {
        "linear", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "upsample", "concat", "add",
        "relu", "leaky_relu", "sigmoid", "tanh", "mse_loss", "l1_loss", "masked_mse_loss", "masked_l1_loss", "sgd",
        "mul", "sub", "div", "clip", "gelu", "pad", "huber_loss", "bce_with_logits_loss", "softmax_cross_entropy_loss",
        "softmax", "global_avg_pool2d", "batch_norm2d", "optim_trajectory", "lr_schedule", "matmul", "transpose",
    };

    [Test]
    public void EveryOpHasAtLeastOneFixture()
    {
        foreach (var op in Ops) Assert.That(Fixture.Names(op), Is.Not.Empty, op);
    }

    [TestCaseSource(nameof(Names))]
    public void LoadsWithAKnownOpAndAnOutput(string name)
    {
        var f = Fixture.Load(name);
        Assert.That(Ops, Does.Contain(f.Op));
        Assert.That(name, Does.StartWith(f.Op + "_"), "files are named <op>_<case>");
        Assert.That(f.Has("y"), "every case has its output y");
    }

    [TestCaseSource(nameof(Names))]
    public void InputsAreExactlyRepresentableInFloat32(string name)
    {
        var f = Fixture.Load(name);
        // Inputs are what a GPU test uploads as f32; outputs (y, *_after state, per-step results with "@") and gradients
        // (grad_*) are float64 results.
        foreach (var (tensor, t) in f.Tensors.Where(kv => kv.Key != "y" && !kv.Key.EndsWith("_after") && !kv.Key.Contains('@') && (!kv.Key.StartsWith("grad_") || kv.Key == "grad_y")))
        {
            if (f.Op == "sgd" && tensor == "grad_weight") continue; // an input to the step, checked below
            Assert.That(t.Data.All(v => (double)(float)v == v), $"{tensor} must be f32-exact");
        }
        if (f.Op == "sgd") Assert.That(f["grad_weight"].Data.All(v => (double)(float)v == v), "sgd's grad_weight is an input");
    }

    [Test]
    public void TheCourseConvolutionIsStoredExactly()
    {
        var f = Fixture.Load("conv2d_golden");
        Assert.That(f["x"].Shape, Is.EqualTo(new[] { 1, 1, 5, 5 }));
        Assert.That(f["x"].Floats, Is.EqualTo(new float[] { 3, 3, 2, 1, 0, 0, 0, 1, 3, 1, 3, 1, 2, 2, 3, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1 }));
        Assert.That(f["weight"].Floats, Is.EqualTo(new float[] { 0, 1, 2, 2, 2, 0, 0, 1, 2 }));
        Assert.That(f["y"].Floats, Is.EqualTo(new float[] { 12, 12, 17, 10, 17, 19, 9, 6, 14 }));
    }

    [Test]
    public void TypedAttributesReadPairsScalarsAndFallbacks()
    {
        var f = Fixture.Load("conv2d_grouped");
        Assert.That(f.Ints("stride"), Is.EqualTo(new[] { 1, 1 }));
        Assert.That(f.Int("groups"), Is.EqualTo(2));
        Assert.That(f.Int("missing", 7), Is.EqualTo(7));
        Assert.Throws<KeyNotFoundException>(() => f.Int("missing"));
        Assert.That(Fixture.Load("leaky_relu_slope0p1").Double("negative_slope"), Is.EqualTo(0.1));
        Assert.That(Fixture.Load("upsample_bilinear_x2").Str("mode"), Is.EqualTo("bilinear"));
    }

    [Test]
    public void AllFixturesTogetherStaySmall()
    {
        long bytes = Directory.EnumerateFiles(Fixture.FolderPath, "*.json").Sum(p => new FileInfo(p).Length);
        Assert.That(bytes, Is.LessThan(1_000_000));
    }
}
