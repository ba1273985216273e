using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// A Linear layer and its activation read by another Linear alone, trained with the graph's fusions: the second's input
/// gradient takes the activation's derivative in its product kernel's epilogue, or in a split product's ordered sum
/// (Kiln.Layers.LinearProducts.EmitActivationGradient: the ".dact" forms of every product kernel, plain, tiled and
/// tensor-core), and the activation has no pass of its own (the kernels column says which ran). y, x's gradient and both
/// layers' weight and bias gradients against a double CPU reference, untuned and in each round of named entries as
/// <see cref="ActivationGradientCheck"/> runs. Widths over the fused MLP's 64, so the layers stay apart.
/// </summary>
internal sealed class LinearActivationGradientCheck : KernelCheck
{
    const string Name = "linear_act_grad";
    public override string Operation => Name;

    /// <summary>Unused: the case has two layers' parameters, so <see cref="Run"/> builds and checks its own network.</summary>
    public override IEnumerable<CheckCase> Cases(Random rng, int count) => Enumerable.Empty<CheckCase>();

    /// <summary>A wide case the tensor-core tiles take, one whose input gradient splits its long reduction (2 rows, 512
    /// outputs: the split's finish takes the derivative) and, where <paramref name="count"/> allows, one random one.</summary>
    public override IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var shapes = new List<(int Rows, int In, int Hidden, int Out, Activation Act)> { (256, 64, 96, 80, Activation.Tanh), (2, 8, 72, 512, Activation.Sigmoid) };
        for (int i = 2; i < Math.Min(count, 3); i++)
            shapes.Add((rng.Next(1, 200), rng.Next(1, 100), rng.Next(65, 140), rng.Next(1, 100), rng.Next(2) == 0 ? Activation.Tanh : Activation.Sigmoid));
        return ActivationGradientCheck.RunRounds(context, shapes, precisions, (s, precision, named) => Check(context, s, precision, named, rng));
    }

    static SelfTestResult Check(GpuContext context, (int Rows, int In, int Hidden, int Out, Activation Act) s, Precision precision, string[] named, Random rng)
    {
        string name = $"{s.Rows} rows {s.In}->{s.Hidden}->{s.Out} {s.Act}", kernels = "";
        try
        {
            var net = new Network();
            var act = net.Add(s.Act == Activation.Tanh ? new Tanh() : new Sigmoid(), "act", net.Add(new Linear(s.In, s.Hidden), "fc1", net.Input("x")));
            var y = net.Add(new Linear(s.Hidden, s.Out), "fc2", act);
            net.Output(y, "y");
            net.SetOutputGradient(y, net.Input("grad_y"));
            var (xShape, yShape) = (new Shape(s.Rows, s.In), new Shape(s.Rows, s.Out));
            using var compiled = net.Compile(context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = yShape },
                Training = true, UpdateParameters = false, InputGradients = true, InputGradientNames = new[] { "x" }, Precision = precision,
                Autotune = false, PreferKernels = named,
            });
            kernels = string.Join(", ", compiled.Plan.Dispatches
                .Where(d => d.Label.StartsWith("fc2.bwd_input", StringComparison.Ordinal) || d.Label == "fc1.act.bwd")
                .Select(d => d.Kernel).Distinct());
            var (x, gy, parameters) = ActivationGradientCheck.Fill(compiled, xShape, yShape, rng, precision);
            compiled.Run();

            var (first, second) = (LinearCheck.Reference(s.Rows, s.In, s.Hidden), LinearCheck.Reference(s.Rows, s.Hidden, s.Out));
            var a = ActivationGradientCheck.Activate(first(x, parameters["fc1.weight"], parameters["fc1.bias"], new double[(long)s.Rows * s.Hidden]).Y, s.Act);
            var r2 = second(a, parameters["fc2.weight"], parameters["fc2.bias"], gy);
            var r1 = first(x, parameters["fc1.weight"], parameters["fc1.bias"], ActivationGradientCheck.ThroughDerivative(r2.GradX, a, s.Act));
            return new SelfTestResult(Name, name, precision, kernels, SelfTestTolerances.MaxRelative(compiled.GetOutput("y"), r2.Y),
                ActivationGradientCheck.GradientError(compiled, ("fc1", r1), ("fc2", r2)), null);
        }
        catch (Exception e) when (SelfTestRunner.Reportable(e))
        {
            return SelfTestResult.Failed(Name, name, precision, kernels, e);
        }
    }
}
