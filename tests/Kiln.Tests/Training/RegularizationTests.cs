using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>
/// TensorFlow Playground's L1 and L2 regularisation (lambda sign(w), lambda w added to a weight's gradient; biases
/// left alone) on the GPU against the same SGD steps in double on the CPU.
/// </summary>
public sealed class RegularizationTests : GpuTest
{
    /// <summary>Three f32 steps of a 4x3 linear layer: rounding ~1e-7 per step.</summary>
    const double Tolerance = 1e-5;

    [TestCase(0.05f, 0f)]
    [TestCase(0f, 0.2f)]
    [TestCase(0.03f, 0.1f)]
    public void SgdStepsMatchTheReference(float l1, float l2)
    {
        const int n = 4, inF = 3, outF = 2, steps = 3;
        const double lr = 0.1;
        var net = new Sequential(new Linear(inF, outF)).WithLoss(new MseLoss());
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, inF), ["target"] = new Shape(n, outF) },
            Training = true,
            LearningRate = (float)lr,
            L1 = l1,
            L2 = l2,
            Seed = 4,
        });
        var x = RandomData.Uniform(n * inF, 5).Select(v => (double)(float)v).ToArray();
        var t = RandomData.Uniform(n * outF, 6).Select(v => (double)(float)v).ToArray();
        compiled.SetInput("x", x.Select(v => (float)v).ToArray());
        compiled.SetInput("target", t.Select(v => (float)v).ToArray());
        // One weight exactly 0 pins sign(0) = 0, as in PyTorch and the Playground.
        var w0 = compiled.Parameters["linear_0.weight"].ToArray();
        w0[1] = 0;
        compiled.Parameters["linear_0.weight"].Upload(w0);
        var w = w0.Select(v => (double)v).ToArray();
        var b = compiled.Parameters["linear_0.bias"].ToArray().Select(v => (double)v).ToArray();

        for (int step = 0; step < steps; step++)
        {
            compiled.Run();
            var y = RefLinear.Forward(x, w, b, n, inF, outF);
            var (_, gw, gb) = RefLinear.Backward(x, w, RefMseLoss.Backward(y, t), n, inF, outF);
            var reg = gw.Select((g, i) => g + l1 * Math.Sign(w[i]) + l2 * w[i]).ToArray();
            w = RefSgd.Step(w, reg, lr);
            b = RefSgd.Step(b, gb, lr);
        }
        Assert.That(RelativeError.MaxRelative(compiled.Parameters["linear_0.weight"].ToArray(), w), Is.LessThan(Tolerance));
        Assert.That(RelativeError.MaxRelative(compiled.Parameters["linear_0.bias"].ToArray(), b), Is.LessThan(Tolerance), "biases are not regularised");
    }
}
