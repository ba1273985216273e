using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// Runs a PyTorch fixture through one Kiln layer on the GPU (<see cref="LayerHarness"/>) and compares the result with
/// the fixture's y and gradients: y within <see cref="Tolerances.Forward"/>, every gradient within
/// <see cref="Tolerances.Gradient"/>, by <see cref="RelativeError.MaxRelative(IReadOnlyList{float}, IReadOnlyList{double})"/>.
/// </summary>
internal static class FixtureLayer
{
    /// <summary>The fixture's weight and (when present) bias, by layer-local name.</summary>
    public static Dictionary<string, float[]> Parameters(Fixture f)
    {
        var ps = new Dictionary<string, float[]>();
        if (f.Has("weight")) ps["weight"] = f["weight"].Floats;
        if (f.Has("bias")) ps["bias"] = f["bias"].Floats;
        return ps;
    }

    /// <summary>Runs <paramref name="layer"/> on the fixture's <paramref name="inputs"/> (tensor names, in order), with the fixture's parameters and grad_y.</summary>
    public static LayerResult Run(GpuContext context, Layer layer, Fixture f, params string[] inputs) =>
        LayerHarness.Run(context, layer,
            inputs.Select(n => new Shape(f[n].Shape)).ToArray(),
            inputs.Select(n => f[n].Floats).ToArray(),
            Parameters(f),
            f["grad_y"].Floats);

    /// <summary>y has the fixture's shape and values (a scalar y, a loss, reads as shape [1]).</summary>
    public static void AssertOutput(LayerResult res, Fixture f)
    {
        var y = f["y"];
        Assert.That(res.OutputShape, Is.EqualTo(y.Shape.Length == 0 ? new Shape(1) : new Shape(y.Shape)), "y shape");
        Assert.That(RelativeError.MaxRelative(res.Output, y.Data), Is.LessThan(Tolerances.Forward), "y");
    }

    /// <summary>One gradient against the fixture's <paramref name="tensor"/>.</summary>
    public static void AssertGradient(float[] actual, Fixture f, string tensor) =>
        Assert.That(RelativeError.MaxRelative(actual, f[tensor].Data), Is.LessThan(Tolerances.Gradient), tensor);

    /// <summary>y, the gradient of each input (input <c>name</c> against grad_<c>name</c>) and of weight and bias.</summary>
    public static void AssertAll(LayerResult res, Fixture f, params string[] inputs)
    {
        AssertOutput(res, f);
        for (int i = 0; i < inputs.Length; i++) AssertGradient(res.InputGradients[i], f, "grad_" + inputs[i]);
        AssertParameterGradients(res, f);
    }

    /// <summary>grad_weight and grad_bias where the fixture has the parameter; no bias gradient where it has none.</summary>
    public static void AssertParameterGradients(LayerResult res, Fixture f)
    {
        if (f.Has("weight")) AssertGradient(res.ParameterGradients["weight"], f, "grad_weight");
        if (f.Has("bias")) AssertGradient(res.ParameterGradients["bias"], f, "grad_bias");
        else Assert.That(res.ParameterGradients.ContainsKey("bias"), Is.False, "no bias, no bias gradient");
    }

    /// <summary>The input names of a multi-input fixture: x0, x1, … as many as it has.</summary>
    public static string[] NumberedInputs(Fixture f) =>
        Enumerable.Range(0, f.Tensors.Count).Select(i => $"x{i}").TakeWhile(f.Has).ToArray();

    /// <summary><see cref="RandomData.Uniform"/> in [-1, 1) as f32, for uploading (the f32 values are then the reference's inputs).</summary>
    public static float[] Uniform(long length, int seed) => RandomData.Uniform(checked((int)length), seed).Select(v => (float)v).ToArray();

    /// <summary>sum(a * b).</summary>
    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
