using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>What one layer computed on the GPU: the output, and (when asked) the gradients of inputs and parameters.</summary>
public sealed record LayerResult(float[] Output, Shape OutputShape, float[][] InputGradients, Dictionary<string, float[]> ParameterGradients)
{
    /// <summary>The compiled plan's kernel modules, in dispatch order.</summary>
    public string[] Kernels { get; init; } = Array.Empty<string>();
    /// <summary>The dispatches' labels, in the same order as <see cref="Kernels"/>.</summary>
    public string[] Labels { get; init; } = Array.Empty<string>();
    /// <summary>The dispatches' workgroup counts ("XxYxZ"), in the same order as <see cref="Kernels"/>.</summary>
    public string[] Groups { get; init; } = Array.Empty<string>();

    /// <summary>The workgroup count of the dispatch labelled <paramref name="label"/>.</summary>
    public string GroupsOf(string label) => Groups[Array.IndexOf(Labels, label)];
}

/// <summary>
/// Runs one layer on the GPU through the real graph compiler: forward, and backward from a chosen output gradient (a
/// "grad_y" input, <see cref="Network.SetOutputGradient"/>) in a step that updates no parameters.
/// Parameters are set by their layer-local names ("weight", "bias").
/// </summary>
public static class LayerHarness
{
    public static LayerResult Run(GpuContext context, Layer layer, Shape[] inputShapes, float[][] inputs,
        IReadOnlyDictionary<string, float[]>? parameters = null, float[]? gradOutput = null, bool? texelReads = null,
        Precision precision = Precision.Fp32, IReadOnlyList<string>? preferKernels = null)
    {
        var net = new Network();
        var ins = inputShapes.Select((s, i) => net.Input(InputName(i))).ToArray();
        var y = net.Add(layer, "layer", ins);
        net.Output(y, "y");
        var shapes = inputShapes.Select((s, i) => (InputName(i), s)).ToDictionary(p => p.Item1, p => p.s);
        bool backward = gradOutput != null;
        if (backward)
        {
            var outShape = layer.OutputShape(inputShapes);
            shapes["grad_y"] = outShape;
            net.SetOutputGradient(y, net.Input("grad_y"));
        }
        using var compiled = net.Compile(context, new CompileOptions
        {
            InputShapes = shapes,
            Training = backward,
            UpdateParameters = false,
            InputGradients = backward,
            Fuse = false,
            TexelReads = texelReads,
            Precision = precision,
            PreferKernels = preferKernels ?? Array.Empty<string>(),
        });
        for (int i = 0; i < inputs.Length; i++) compiled.SetInput(InputName(i), inputs[i]);
        if (backward) compiled.SetInput("grad_y", gradOutput);
        if (parameters != null)
            foreach (var (name, data) in parameters) compiled.Parameters[$"layer.{name}"].Upload(data);
        compiled.Run();
        var output = compiled.GetOutput("y");
        var inputGrads = backward
            ? inputShapes.Select((s, i) => compiled.InputGradients.TryGetValue(InputName(i), out var g) ? g.ToArray() : Array.Empty<float>()).ToArray()
            : Array.Empty<float[]>();
        var paramGrads = compiled.Gradients.ToDictionary(kv => kv.Key["layer.".Length..], kv => kv.Value.ToArray());
        return new LayerResult(output, compiled.Outputs["y"].Shape, inputGrads, paramGrads)
        {
            Kernels = compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray(),
            Labels = compiled.Plan.Dispatches.Select(d => d.Label).ToArray(),
            Groups = compiled.Plan.Dispatches.Select(d => d.Groups).ToArray(),
        };
    }

    /// <summary>
    /// A one-input layer and <paramref name="activation"/> after it (fused: Fuse on, and checked), or the layer alone,
    /// with PreferKernels: forward, and backward from the output gradient gy; input and parameter gradients as they are.
    /// </summary>
    public static LayerResult RunFused(GpuContext context, Layer layer, Layer? activation, Shape xShape, float[] x, float[] gy, Precision precision,
        bool? texelReads, IReadOnlyList<string> prefer)
    {
        var net = new Network();
        var y = net.Add(layer, "layer", net.Input("x"));
        if (activation != null) y = net.Add(activation, "act", y);
        net.Output(y, "y");
        var yShape = layer.OutputShape(new[] { xShape });
        net.SetOutputGradient(y, net.Input("grad_y"));
        using var compiled = net.Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = yShape },
            Training = true,
            UpdateParameters = false,
            InputGradients = true,
            InputGradientNames = new[] { "x" },
            Fuse = activation != null,
            TexelReads = texelReads,
            Precision = precision,
            PreferKernels = prefer,
        });
        if (activation != null)
            Assert.That(compiled.Plan.Dispatches.Select(d => d.Label), Has.None.StartWith("act.fwd"), "the activation is fused");
        compiled.SetInput("x", x);
        compiled.SetInput("grad_y", gy);
        compiled.Run();
        var grads = compiled.Gradients.ToDictionary(kv => kv.Key["layer.".Length..], kv => kv.Value.ToArray());
        return new LayerResult(compiled.GetOutput("y"), compiled.Outputs["y"].Shape, new[] { compiled.InputGradients["x"].ToArray() }, grads)
        {
            Kernels = compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray(),
            Labels = compiled.Plan.Dispatches.Select(d => d.Label).ToArray(),
            Groups = compiled.Plan.Dispatches.Select(d => d.Groups).ToArray(),
        };
    }

    static string InputName(int i) => i == 0 ? "x" : $"x{i}";
}
