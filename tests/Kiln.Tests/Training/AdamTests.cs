using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>Adam on the GPU against torch.optim.Adam's update rule computed in double on the CPU.</summary>
public sealed class AdamTests : GpuTest
{
    /// <summary>Three f32 steps of updates of size ~lr: the f32 rounding of gradients and moments stays far below this.</summary>
    const double Tolerance = 1e-4;

    [Test]
    public void ThreeLinearStepsMatchTheReferenceAdam()
    {
        const int n = 4, inF = 3, outF = 2, steps = 3;
        const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        var net = new Sequential(new Linear(inF, outF)).WithLoss(new MseLoss());
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, inF), ["target"] = new Shape(n, outF) },
            Training = true,
            Optimizer = new Adam(),
            LearningRate = (float)lr,
            Seed = 9,
        });
        var x = RandomData.Uniform(n * inF, 1).Select(v => (double)(float)v).ToArray();
        var t = RandomData.Uniform(n * outF, 2).Select(v => (double)(float)v).ToArray();
        compiled.SetInput("x", x.Select(v => (float)v).ToArray());
        compiled.SetInput("target", t.Select(v => (float)v).ToArray());
        var w = compiled.Parameters["linear_0.weight"].ToArray().Select(v => (double)v).ToArray();
        var b = compiled.Parameters["linear_0.bias"].ToArray().Select(v => (double)v).ToArray();
        var (mw, vw, mb, vb) = (new double[w.Length], new double[w.Length], new double[b.Length], new double[b.Length]);

        for (int step = 1; step <= steps; step++)
        {
            compiled.Run();
            var y = RefLinear.Forward(x, w, b, n, inF, outF);
            var gy = RefMseLoss.Backward(y, t);
            var (_, gw, gb) = RefLinear.Backward(x, w, gy, n, inF, outF);
            Update(w, gw, mw, vw, step);
            Update(b, gb, mb, vb, step);
        }
        Assert.That(RelativeError.MaxRelative(compiled.Parameters["linear_0.weight"].ToArray(), w), Is.LessThan(Tolerance));
        Assert.That(RelativeError.MaxRelative(compiled.Parameters["linear_0.bias"].ToArray(), b), Is.LessThan(Tolerance));
        Assert.That(compiled.StepCount, Is.EqualTo((uint)steps));

        void Update(double[] p, double[] g, double[] m, double[] v, int step)
        {
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mhat = m[i] / (1 - Math.Pow(b1, step)), vhat = v[i] / (1 - Math.Pow(b2, step));
                p[i] -= lr * mhat / (Math.Sqrt(vhat) + eps);
            }
        }
    }
}
