namespace Kiln.Cli.SelfTest;

/// <summary>
/// Runs one <see cref="CheckCase"/>: the layer alone in a network (its further inputs, if any, random in [0, 1)),
/// compiled for training from a chosen output gradient (<see cref="Network.SetOutputGradient"/>: the input and parameter gradients are
/// exactly the layer's backward of it) in a step that updates nothing, on random inputs and parameters, at the given precision; then
/// compares y and every gradient with the CPU reference. Compiled without tuning; <c>prefer</c> names entries to run
/// where they can (CompileOptions.PreferKernels). With <c>layout</c> NHWC the network runs channels-last
/// (CompileOptions.ActivationLayout), its gradients through the NHWC kernels where the layer has them. A case checked
/// only in inference (<see cref="CheckCase.InferenceOnly"/>) is compiled for inference, and only y is compared (and the
/// layer's own output where the case names it, <see cref="CheckCase.KeepLayerOutput"/>). The parameters checked are the
/// layer's, or those of the layer after it where that has some (a decoder's convolution after its concatenation).
/// </summary>
internal static class SelfTestRunner
{
    public static SelfTestResult Run(GpuContext context, string operation, CheckCase c, Random rng, Precision precision = Precision.Fp32,
        IReadOnlyList<string>? prefer = null, TensorLayout layout = TensorLayout.Nchw)
    {
        string kernels = "";
        bool inference = c.InferenceOnly;
        string description = layout == TensorLayout.Nhwc ? $"{c.Description} nhwc" : c.Description;
        try
        {
            var (net, options) = Compose(c, precision, prefer, layout);
            var others = c.Others ?? Array.Empty<Shape>();
            var names = Names(c);
            var yShape = options.InputShapes["grad_y"];
            string parameters = c.After is { Parameters.Count: > 0 } ? "after" : "layer";
            using var compiled = net.Compile(context, options);
            kernels = string.Join(", ", compiled.Plan.Dispatches.Where(d => CaseLabels.Any(l => d.Label.StartsWith(l, StringComparison.Ordinal)) && !d.Kernel.StartsWith("optim/", StringComparison.Ordinal))
                .Select(d => d.Kernel).Distinct());
            // At f16 storage the inputs and the output gradient are drawn as f16 values, so the reference sees what the
            // kernels see: rounding them is storage, not kernel error (and a max-pool would otherwise route gradients
            // through values that rounding made equal).
            float Stored(float v) => precision == Precision.Fp16 ? (float)(Half)v : v;
            float[] Random(long n) => Draw(rng, n, precision);
            var x = Random(c.Input.Elements);
            var gy = Random(yShape.Elements).Select(v => v * c.OutputGradientScale).ToArray();
            compiled.SetInput("x", x);
            compiled.SetInput("grad_y", gy);
            var more = others.Select(o => Random(o.Elements).Select(v => Stored((v + 1) / 2)).ToArray()).ToArray(); // [0, 1): targets, probabilities
            for (int i = 0; i < others.Count; i++) compiled.SetInput(names[i], more[i]);
            float[]? w = null, b = null;
            if (compiled.Parameters.TryGetValue($"{parameters}.weight", out var wt)) wt.Upload(w = Random(wt.Shape.Elements));
            if (compiled.Parameters.TryGetValue($"{parameters}.bias", out var bt)) bt.Upload(b = Random(bt.Shape.Elements));
            compiled.Run();

            var expected = c.Reference(D(x.Concat(more.SelectMany(m => m)).ToArray()), w == null ? null : D(w), b == null ? null : D(b), D(gy));
            double forward = SelfTestTolerances.MaxRelative(compiled.GetOutput("y"), expected.Y);
            if (c.KeepLayerOutput)
                forward = Math.Max(forward, SelfTestTolerances.MaxRelative(compiled.GetOutput("kept"), expected.Kept
                    ?? throw new InvalidOperationException($"{operation}: the case keeps the layer's output, its reference gives none.")));
            if (inference) return new SelfTestResult(operation, description, precision, kernels, forward, 0, null);
            // The reference's input gradient: x's alone, or x's and then the further inputs' (each compared on its own).
            double gradient = SelfTestTolerances.MaxRelative(compiled.InputGradients["x"].ToArray(), expected.GradX[..x.Length]);
            if (expected.GradX.Length > x.Length)
            {
                int at = x.Length;
                for (int i = 0; i < others.Count; at += more[i].Length, i++)
                    gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.InputGradients[names[i]].ToArray(), expected.GradX[at..(at + more[i].Length)]));
            }
            if (expected.GradW != null) gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.Gradients[$"{parameters}.weight"].ToArray(), expected.GradW));
            if (expected.GradB != null) gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.Gradients[$"{parameters}.bias"].ToArray(), expected.GradB));
            return new SelfTestResult(operation, c.Description, precision, kernels, forward, gradient, null);
        }
        catch (Exception e) when (Reportable(e))
        {
            return SelfTestResult.Failed(operation, description, precision, kernels, e);
        }
    }

    /// <summary>
    /// The case's network (its layers, y named and seeded with the output gradient grad_y, the layer's own output named
    /// "kept" where the case keeps it) and the options <see cref="Run"/> compiles it with.
    /// </summary>
    static (Network Net, CompileOptions Options) Compose(CheckCase c, Precision precision, IReadOnlyList<string>? prefer, TensorLayout layout)
    {
        bool inference = c.InferenceOnly;
        var net = new Network();
        var others = c.Others ?? Array.Empty<Shape>();
        var names = Names(c);
        var x0 = net.Input("x");
        var first = c.Before != null ? net.Add(c.Before, "before", x0) : x0;
        var joined = net.Add(c.Layer, "layer", names.Select(net.Input).Prepend(first).ToArray());
        var y = c.After != null ? net.Add(c.After, "after", joined) : joined;
        net.Output(y, "y");
        if (c.KeepLayerOutput) net.Output(joined, "kept");
        var layerShape = c.Layer.OutputShape(others.Prepend(c.Before?.OutputShape(new[] { c.Input }) ?? c.Input).ToArray());
        var yShape = c.After?.OutputShape(new[] { layerShape }) ?? layerShape;
        net.SetOutputGradient(y, net.Input("grad_y"));
        var shapes = new Dictionary<string, Shape> { ["x"] = c.Input, ["grad_y"] = yShape };
        for (int i = 0; i < others.Count; i++) shapes[names[i]] = others[i];
        return (net, new CompileOptions
        {
            InputShapes = shapes,
            Training = !inference,
            UpdateParameters = false,
            InputGradients = !inference,
            InputGradientNames = inference ? null : names.Prepend("x").ToArray(),
            ActivationLayout = layout,
            Fuse = c.Fused,
            Precision = precision,
            // The kernels themselves, not a tuner's pick among them (each case would be timed): entries that only run
            // under tuning are checked by name (prefer).
            Autotune = false,
            PreferKernels = prefer ?? Array.Empty<string>(),
        });
    }

    /// <summary>The names of the case's further inputs: x1, x2, ...</summary>
    static string[] Names(CheckCase c) => (c.Others ?? Array.Empty<Shape>()).Select((_, i) => $"x{i + 1}").ToArray();

    /// <summary>
    /// Creates at once, on several threads (<see cref="Kiln.Vulkan.PipelineStore.Warm"/>), the pipelines that <see cref="Run"/> would
    /// create one compile at a time for each of <paramref name="rounds"/> of the case (precision, entries named, layout):
    /// the same plans, planned without compiling. A GPU driver's compiler is most of a first selftest run, and one case's
    /// rounds together give it tens of pipelines to build side by side. A round the compiler refuses, or a pipeline the
    /// driver does, adds nothing here: <see cref="Run"/> reports it.
    /// </summary>
    public static void Prewarm(GpuContext context, CheckCase c, IEnumerable<(Precision Precision, string[]? Prefer, TensorLayout Layout)> rounds)
    {
        var specs = new List<Kiln.Vulkan.KernelSpec>();
        foreach (var (precision, prefer, layout) in rounds)
        {
            try
            {
                var (net, options) = Compose(c, precision, prefer, layout);
                specs.AddRange(Graph.Compiler.Plan(net, context.KernelDevice, options).Levels.SelectMany(l => l).Select(s => s.Spec));
            }
            catch (Exception e) when (Reportable(e)) { }
        }
        try { context.Pipelines.Warm(specs); }
        catch (KilnException) { }
    }

    /// <summary>The labels of a case's dispatches (the fused ones take the label of their first layer, or both layers'
    /// names joined: a convolution and its pool, "layer+after.").</summary>
    static readonly string[] CaseLabels = { "before.", "layer.", "after.", "layer+after." };

    /// <summary>
    /// <paramref name="n"/> values uniform in [-1, 1), drawn as f16 values at <see cref="Precision.Fp16"/>: rounding the
    /// inputs is storage, not kernel error, so the reference sees what the kernels see.
    /// </summary>
    internal static float[] Draw(Random rng, long n, Precision precision) => Enumerable.Range(0, checked((int)n))
        .Select(_ => rng.NextSingle() * 2 - 1).Select(v => precision == Precision.Fp16 ? (float)(Half)v : v).ToArray();

    /// <summary>Whether a check's exception is a result to report (the device refused the case, a compile error), not a
    /// fault of the check itself.</summary>
    internal static bool Reportable(Exception e) => e is KilnException or ArgumentException or KeyNotFoundException or InvalidOperationException;

    internal static double[] D(float[] v) => Array.ConvertAll(v, f => (double)f);
}
