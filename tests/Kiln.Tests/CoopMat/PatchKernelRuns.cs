using Kiln.Layers;
using Kiln.Tests.Reference;

namespace Kiln.Tests.CoopMat;

/// <summary>The networks the patch kernels' variant tests run at fp16 with given kernel entries (or entries' tiles) named:
/// a convolution and its ReLU, and two convolutions through a ReLU from a given output gradient.</summary>
internal static class PatchKernelRuns
{
    /// <summary>x -> conv -> ReLU, x uniform from <paramref name="seed"/>: the output and the plan.</summary>
    public static (float[] Y, PlanReport Plan) Forward(GpuContext context, Conv2d conv, Shape x, TensorLayout layout, string[] prefer, int seed = 3)
    {
        var net = new Network();
        net.Output(net.Add(new ReLU(), "relu", net.Add(conv, "conv", net.Input("x"))), "y");
        using var c = net.Compile(context, CompileOptions.For("x", x) with
        {
            Precision = Precision.Fp16, TexelReads = false, ActivationLayout = layout, PreferKernels = prefer, Seed = 5,
        });
        c.SetInput("x", RandomData.Uniform((int)x.Elements, seed).Select(v => (float)v).ToArray());
        c.Run();
        return (c.GetOutput("y"), c.Plan);
    }

    /// <summary>
    /// x [2, 24, 10, 18] -> conv1 (24 to 32, 3x3) -> ReLU -> conv2 (32 to 32), from a given output gradient, the input
    /// gradients as forward convolutions of the flipped weight (Conv2dInputGradFlipped named): conv2's through the ReLU's
    /// derivative in its epilogue (the .dact forms), conv1's plain. The parameters' gradients and x's, and the plan.
    /// </summary>
    public static (Dictionary<string, float[]> Grads, PlanReport Plan) ReluPairGradients(GpuContext context, TensorLayout layout, string[] prefer)
    {
        var x = new Shape(2, 24, 10, 18);
        var y = new Shape(2, 32, 10, 18);
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(24, 32, 3, padding: 1), "conv1", net.Input("x")));
        net.SetOutputGradient(net.Add(new Conv2d(32, 32, 3, padding: 1), "conv2", h), net.Input("g"));
        using var c = net.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["g"] = y }, Training = true, UpdateParameters = false,
            InputGradients = true, InputGradientNames = new[] { "x" }, Precision = Precision.Fp16, TexelReads = false,
            ActivationLayout = layout, PreferKernels = prefer.Append(nameof(Conv2dInputGradFlipped)).ToArray(), Seed = 5,
        });
        c.SetInput("x", RandomData.Uniform((int)x.Elements, 7).Select(v => (float)v).ToArray());
        c.SetInput("g", RandomData.Uniform((int)y.Elements, 8).Select(v => (float)v).ToArray());
        c.Run();
        var grads = c.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        grads["x"] = c.InputGradients["x"].ToArray();
        return (grads, c.Plan);
    }
}
