using Kiln.Models;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Acceptance;

/// <summary>Networks of the course trained for a few SGD steps on the GPU: the loss goes down.</summary>
public sealed class TrainingTests : GpuTest
{
    /// <summary>Runs <paramref name="steps"/> steps on fixed data and returns the loss before each step.</summary>
    /// <summary>Replays a compiled training step <paramref name="steps"/> times; the loss of each.</summary>
    internal static List<float> Train(CompiledNetwork net, int steps)
    {
        var losses = new List<float>();
        for (int i = 0; i < steps; i++)
        {
            net.Run();
            losses.Add(net.GetOutput("loss")[0]);
        }
        return losses;
    }

    static float[] Floats(double[] d) => d.Select(v => (float)v).ToArray();

    [Test]
    public void InpaintingUNet_LossGoesDown() => InpaintingUNet(new Sgd(), 5f, 21, 0.99);

    [Test]
    public void InpaintingUNet_WithAdam_LossDropsFaster() => InpaintingUNet(new Adam(), 3e-3f, 21, 0.8);

    void InpaintingUNet(Optimizer optimizer, float lr, int steps, double factor)
    {
        var net = InpaintUNet.BuildForTraining(8, 16, 32);
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 4, 16, 16), ["target"] = new Shape(2, 3, 16, 16) },
            Training = true,
            Optimizer = optimizer,
            LearningRate = lr,
            Seed = 1,
        });
        // Smooth colour patterns (learnable), with random holes.
        var target = new double[2 * 3 * 16 * 16];
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 256; p++)
                    target[(n * 3 + c) * 256 + p] = 0.5 + 0.3 * Math.Sin((p % 16) / 3.0 + c + n) * Math.Cos((p / 16) / 4.0 - c);
        var mask = RandomData.Mask(2 * 16 * 16, 12, 0.7);
        // Input: the target with holes (where mask is 0) and the mask as a fourth channel.
        var x = new double[2 * 4 * 16 * 16];
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 256; p++)
            {
                for (int c = 0; c < 3; c++) x[(n * 4 + c) * 256 + p] = target[(n * 3 + c) * 256 + p] * mask[n * 256 + p];
                x[(n * 4 + 3) * 256 + p] = mask[n * 256 + p];
            }
        compiled.SetInput("x", Floats(x));
        compiled.SetInput("target", Floats(target));
        var losses = Train(compiled, steps);
        TestContext.Out.WriteLine($"inpaint L1 ({optimizer}): " + string.Join(" ", losses.Select(l => l.ToString("0.00000"))));
        // Plain SGD moves a sigmoid-output UNet under an L1 loss slowly; what it must do is go down steadily
        // (no step raises the loss by more than 2e-4). Adam must cut it by a fifth.
        if (optimizer is Sgd)
            for (int i = 1; i < losses.Count; i++) Assert.That(losses[i], Is.LessThanOrEqualTo(losses[i - 1] + 2e-4f), $"step {i}");
        Assert.That(losses[^1], Is.LessThan(factor * losses[0]));
        Assert.That(compiled.StepCount, Is.EqualTo((uint)steps), "the GPU advanced the step counter once per replayed step");
    }

    /// <summary>The fashion-ae autoencoder (latent 16) compiled for SGD at rate 1 on four smooth blobs, which it reconstructs.</summary>
    internal static CompiledNetwork BlobAutoencoder(Precision precision)
    {
        var compiled = FashionAutoencoder.Build(latent: 16).Compile(Gpu.Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(4, 1, 28, 28), ["target"] = new Shape(4, 1, 28, 28) },
            Training = true,
            LearningRate = 1f,
            Seed = 2,
            Precision = precision,
        });
        var img = SmoothBlobs();
        compiled.SetInput("x", img);
        compiled.SetInput("target", img);
        return compiled;
    }

    [Test]
    public void ConvAutoencoder_LossGoesDown()
    {
        using var compiled = BlobAutoencoder(Precision.Fp32);
        var losses = Train(compiled, 20);
        TestContext.Out.WriteLine("autoencoder MSE: " + string.Join(" ", losses.Select(l => l.ToString("0.00000"))));
        Assert.That(losses[^1], Is.LessThan(0.8 * losses[0]));
    }

    /// <summary>Four 28x28 images of a smooth blob each, like small pictures: [4, 1, 28, 28].</summary>
    internal static float[] SmoothBlobs()
    {
        var img = new float[4 * 28 * 28];
        for (int n = 0; n < 4; n++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    img[(n * 28 + y) * 28 + x] = (float)Math.Exp(-(Math.Pow(x - 8 - 3 * n, 2) + Math.Pow(y - 14, 2)) / 30.0);
        return img;
    }

    [Test]
    public void Mlp_LearnsTheCircle()
    {
        var net = PlaygroundMlp.Build(new[] { 16, 16 });
        const int n = 256;
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, 2), ["target"] = new Shape(n, 1) },
            Training = true,
            LearningRate = 0.1f,
            Seed = 3,
        });
        // TensorFlow Playground's circle: label +1 inside radius 2.5, -1 outside, points in [-5, 5]^2.
        var rng = new Random(4);
        var xs = new float[n * 2];
        var ts = new float[n];
        for (int i = 0; i < n; i++)
        {
            xs[2 * i] = (float)(rng.NextDouble() * 10 - 5) / 5;
            xs[2 * i + 1] = (float)(rng.NextDouble() * 10 - 5) / 5;
            ts[i] = xs[2 * i] * xs[2 * i] + xs[2 * i + 1] * xs[2 * i + 1] < 0.25f ? 1 : -1;
        }
        compiled.SetInput("x", xs);
        compiled.SetInput("target", ts);
        var losses = Train(compiled, 300);
        var y = compiled.GetOutput("y");
        double accuracy = Enumerable.Range(0, n).Count(i => Math.Sign(y[i]) == Math.Sign(ts[i])) / (double)n;
        TestContext.Out.WriteLine($"mlp MSE {losses[0]:0.000} -> {losses[^1]:0.000}, train accuracy {accuracy:P1}");
        Assert.That(losses[^1], Is.LessThan(0.5 * losses[0]));
        Assert.That(accuracy, Is.GreaterThan(0.9));
    }
}
