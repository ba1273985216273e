using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Runs a layer with f32 activations and again with f16 activation storage (<see cref="Precision.Fp16"/>), same inputs,
/// parameters (same seed) and output gradient, and checks that the f16 run used f16-storage kernels and agrees with the
/// f32 run within <see cref="Tolerances.F16Storage"/> of each tensor's largest magnitude: output, input gradients and
/// parameter gradients. Returns the f16 run's kernels.
/// </summary>
public static class F16StorageCheck
{
    public static string[] Matches(GpuContext context, Layer layer, Shape[] inputShapes, int seed = 1, double tolerance = Tolerances.F16Storage,
        bool backward = true, Func<int, float[]>? input = null)
    {
        var rng = new Random(seed);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var inputs = inputShapes.Select((s, i) => input?.Invoke(i) ?? Random(s.Elements)).ToArray();
        var gradOutput = backward ? Random(layer.OutputShape(inputShapes).Elements) : null;
        var f32 = LayerHarness.Run(context, layer, inputShapes, inputs, null, gradOutput, precision: Precision.Fp32);
        var f16 = LayerHarness.Run(context, layer, inputShapes, inputs, null, gradOutput, precision: Precision.Fp16);

        Assert.That(f16.Kernels.Where(k => k.EndsWith(".f16")), Is.Not.Empty, "the f16 run used no f16-storage kernel: " + string.Join(", ", f16.Kernels));
        Close(f16.Output, f32.Output, tolerance, "output");
        for (int i = 0; i < f32.InputGradients.Length; i++) Close(f16.InputGradients[i], f32.InputGradients[i], tolerance, $"gradient of input {i}");
        foreach (var (name, g) in f32.ParameterGradients) Close(f16.ParameterGradients[name], g, tolerance, $"gradient of {name}");
        return f16.Kernels;
    }

    public static void Close(float[] actual, float[] expected, double tolerance, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        double scale = expected.Length == 0 ? 0 : expected.Max(v => Math.Abs((double)v));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(d) || d > worst) { worst = double.IsNaN(d) ? double.PositiveInfinity : d; at = i; }
        }
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance * Math.Max(scale, 1e-30)),
            $"{what}: f16 storage differs from f32 by {worst:G4} at {at} ({(at >= 0 ? actual[at] : 0)} vs {(at >= 0 ? expected[at] : 0)}), largest |f32| {scale:G4}");
    }
}
