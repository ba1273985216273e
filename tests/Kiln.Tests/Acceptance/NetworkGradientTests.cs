using Kiln.Models;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Acceptance;

/// <summary>
/// Whole-network gradients (autodiff through skips, concat, upsample, pooling and fused activations) on the
/// GPU against central finite differences of the double-precision CPU reference network.
/// </summary>
public sealed class NetworkGradientTests : GpuTest
{
    [Test]
    public void UNetParameterGradients_MatchFiniteDifferencesOfTheReference()
    {
        var net = InpaintUNet.Build(4, 6);
        var y = net.Outputs[0].Node;
        net.SetLoss(new DotLoss(), y, net.Input("r"));
        var xShape = new Shape(1, 4, 8, 8);
        var yShape = new Shape(1, 3, 8, 8);
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["r"] = yShape },
            Training = true,
            LearningRate = 0f,
            Seed = 5,
        });
        var x = RandomData.Uniform((int)xShape.Elements, 21).Select(v => (double)(float)v).ToArray();
        var r = RandomData.Uniform((int)yShape.Elements, 22).Select(v => (double)(float)v).ToArray();
        compiled.SetInput("x", x.Select(v => (float)v).ToArray());
        compiled.SetInput("r", r.Select(v => (float)v).ToArray());
        compiled.Run();
        var parameters = compiled.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray().Select(v => (double)v).ToArray());

        double Loss()
        {
            var outs = ReferenceNetwork.Forward(net, new Dictionary<string, (double[], int[])> { ["x"] = (x, xShape.ToArray()) }, n => parameters[n]);
            return outs["y"].Data.Select((v, i) => v * r[i]).Sum();
        }

        foreach (var (name, grad) in compiled.Gradients)
        {
            var gpu = grad.ToArray();
            var p = parameters[name];
            var fd = new double[Math.Min(6, p.Length)];
            for (int i = 0; i < fd.Length; i++)
            {
                double keep = p[i];
                p[i] = keep + 1e-5; double up = Loss();
                p[i] = keep - 1e-5; double down = Loss();
                p[i] = keep;
                fd[i] = (up - down) / 2e-5;
            }
            Assert.That(RelativeError.MaxRelative(gpu.Take(fd.Length).ToArray(), fd), Is.LessThan(Tolerances.Gradient), name);
        }
    }
}
