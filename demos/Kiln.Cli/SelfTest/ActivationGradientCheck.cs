using Kiln.Graph;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// A convolution and its activation read by another convolution alone, trained with the graph's fusions: the second's
/// input gradient takes the activation's derivative in its kernel's epilogue where that kernel has the ".dact" variant
/// (Kiln.Layers.ActivationGradient: the direct and tensor-core patch forward kernels, storage-buffer reads), and the
/// activation has no pass of its own; elsewhere that pass runs (the kernels column says which). y, x's gradient and both
/// convolutions' weight and bias gradients against a double CPU reference (the two convolutions' LinearTerms with the
/// activation between them), untuned and in each round of named entries as the other checks. Tanh and sigmoid: a ReLU's
/// kink moves under f16 rounding and says nothing about the kernels (the unit tests check ReLU bit for bit at f32).
/// </summary>
internal sealed class ActivationGradientCheck : KernelCheck
{
    public override string Operation => "conv_act_grad";

    /// <summary>Unused: the case has two convolutions' parameters, so <see cref="Run"/> builds and checks its own network.</summary>
    public override IEnumerable<CheckCase> Cases(Random rng, int count) => Enumerable.Empty<CheckCase>();

    /// <summary>A wide case the GPU's tensor-core tiles take (rows a multiple of 8 wide: tiles stored straight from the
    /// accumulators) and, where <paramref name="count"/> allows, one small random one (odd sizes: through the staging
    /// tile; one only, since on a GPU every round compiles a training plan).</summary>
    public override IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var shapes = new List<(int N, int Cin, int C, int H, int W, Activation Act)> { (1, 8, 32, 12, 24, Activation.Tanh) };
        for (int i = 1; i < Math.Min(count, 2); i++)
            shapes.Add((rng.Next(1, 3), rng.Next(1, 9), rng.Next(1, 25), rng.Next(1, 12), rng.Next(1, 12), rng.Next(2) == 0 ? Activation.Tanh : Activation.Sigmoid));
        return RunRounds(context, shapes, precisions, rng, pool: false);
    }

    /// <summary>Each shape at each precision, untuned and in each round of named entries; <paramref name="pool"/> as
    /// <see cref="Check"/> takes it.</summary>
    internal static IEnumerable<SelfTestResult> RunRounds(GpuContext context, IEnumerable<(int N, int Cin, int C, int H, int W, Activation Act)> shapes,
        IReadOnlyList<Precision> precisions, Random rng, bool pool) =>
        RunRounds(context, shapes, precisions, (shape, precision, named) => Check(context, shape, precision, named, rng, pool: pool));

    /// <summary>Each case at each precision through <paramref name="check"/>, untuned and in each round of named entries
    /// (<see cref="KernelCheck.NamedOnlyRounds"/>, the fused-only entries too), a round's row kept where its kernels differ
    /// from an earlier round's or it failed: the checks of a network trained with the graph's fusions.</summary>
    internal static IEnumerable<SelfTestResult> RunRounds<T>(GpuContext context, IEnumerable<T> cases, IReadOnlyList<Precision> precisions,
        Func<T, Precision, string[], SelfTestResult> check)
    {
        var rounds = NamedOnlyRounds(context.KernelDevice, fusedOnly: true).Prepend(Array.Empty<string>()).ToList();
        foreach (var c in cases)
            foreach (var precision in precisions)
            {
                var seen = new HashSet<string>();
                foreach (var named in rounds)
                {
                    var result = check(c, precision, named);
                    if (result.Error != null || seen.Add(result.Kernels)) yield return result;
                }
            }
    }

    /// <summary>One case at one precision with <paramref name="named"/> entries preferred; <paramref name="texelReads"/> as
    /// CompileOptions.TexelReads (null: the device's default). With <paramref name="pool"/> a 2x2 max pool between the
    /// activation and conv2 (<see cref="PoolGradientCheck"/>; H and W even).</summary>
    internal static SelfTestResult Check(GpuContext context, (int N, int Cin, int C, int H, int W, Activation Act) s, Precision precision, string[] named,
        Random rng, bool? texelReads = null, bool pool = false)
    {
        string operation = pool ? PoolGradientCheck.Name : "conv_act_grad";
        string name = $"n{s.N} {s.Cin}->{s.C}->{s.C} {s.H}x{s.W} {s.Act}{(pool ? " + max pool 2" : "")}", kernels = "";
        try
        {
            var (conv1, conv2) = (new Conv2d(s.Cin, s.C, 3, padding: 1), new Conv2d(s.C, s.C, 3, padding: 1));
            var net = new Network();
            var act = net.Add(s.Act == Activation.Tanh ? new Tanh() : new Sigmoid(), "act", net.Add(conv1, "conv1", net.Input("x")));
            // Pooled, the activation's output is named: the windows' maxima are taken where the stored values have them.
            if (pool) net.Output(act, "a");
            var y = net.Add(conv2, "conv2", pool ? net.Add(new MaxPool2d(2), "pool", act) : act);
            net.Output(y, "y");
            net.SetOutputGradient(y, net.Input("grad_y"));
            var xShape = new Shape(s.N, s.Cin, s.H, s.W);
            var aShape = new Shape(s.N, s.C, s.H, s.W);
            var yShape = pool ? new Shape(s.N, s.C, s.H / 2, s.W / 2) : aShape;
            using var compiled = net.Compile(context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = xShape, ["grad_y"] = yShape },
                Training = true, UpdateParameters = false, InputGradients = true, InputGradientNames = new[] { "x" }, Precision = precision,
                Autotune = false, PreferKernels = named, TexelReads = texelReads,
            });
            kernels = string.Join(", ", compiled.Plan.Dispatches
                .Where(d => d.Label.StartsWith("conv2.bwd_input", StringComparison.Ordinal) || d.Label is "conv1.act.bwd" or "pool.bwd")
                .Select(d => d.Kernel).Distinct());
            var (x, gy, parameters) = Fill(compiled, xShape, yShape, rng, precision);
            compiled.Run();

            // The reference: conv1, the activation (and the pool), conv2 forward; conv2's gradients (the pool's, to each
            // window's maximum), the activation's derivative, conv1's.
            var (first, second) = (Conv2dCheck.Reference(conv1, xShape), Conv2dCheck.Reference(conv2, yShape));
            var a = Activate(first(x, parameters["conv1.weight"], parameters["conv1.bias"], new double[aShape.Elements]).Y, s.Act);
            var windows = pool ? Maxima(compiled.GetOutput("a"), aShape) : null;
            var r2 = second(windows != null ? Array.ConvertAll(windows, i => a[i]) : a, parameters["conv2.weight"], parameters["conv2.bias"], gy);
            var ga = r2.GradX;
            if (windows != null)
            {
                ga = new double[aShape.Elements];
                for (int p = 0; p < windows.Length; p++) ga[windows[p]] = r2.GradX[p];
            }
            var r1 = first(x, parameters["conv1.weight"], parameters["conv1.bias"], ThroughDerivative(ga, a, s.Act));
            return new SelfTestResult(operation, name, precision, kernels, SelfTestTolerances.MaxRelative(compiled.GetOutput("y"), r2.Y),
                GradientError(compiled, ("conv1", r1), ("conv2", r2)), null);
        }
        catch (Exception e) when (SelfTestRunner.Reportable(e))
        {
            return SelfTestResult.Failed(operation, name, precision, kernels, e);
        }
    }

    /// <summary>
    /// The inputs x and grad_y of a two-layer check's compiled network and its parameters (in name order), drawn from
    /// <paramref name="rng"/> in that order and set; each as the reference takes it.
    /// </summary>
    internal static (double[] X, double[] GradY, Dictionary<string, double[]> Parameters) Fill(CompiledNetwork compiled, Shape x, Shape gradY,
        Random rng, Precision precision)
    {
        float[] Random(long n) => SelfTestRunner.Draw(rng, n, precision);
        var (xs, gy) = (Random(x.Elements), Random(gradY.Elements));
        compiled.SetInput("x", xs);
        compiled.SetInput("grad_y", gy);
        var parameters = new Dictionary<string, double[]>();
        foreach (var (name, p) in compiled.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var values = Random(p.Shape.Elements);
            p.Upload(values);
            parameters[name] = D(values);
        }
        return (D(xs), D(gy), parameters);
    }

    /// <summary>tanh or sigmoid of each element.</summary>
    internal static double[] Activate(double[] z, Activation act) => Array.ConvertAll(z, v => act == Activation.Tanh ? Math.Tanh(v) : 1 / (1 + Math.Exp(-v)));

    /// <summary>The gradient <paramref name="g"/> of the activation's output <paramref name="a"/> through its derivative.</summary>
    internal static double[] ThroughDerivative(double[] g, double[] a, Activation act) =>
        g.Select((v, i) => v * (act == Activation.Tanh ? 1 - a[i] * a[i] : a[i] * (1 - a[i]))).ToArray();

    /// <summary>The worst relative error of x's gradient and both layers' weight and bias gradients against their references.</summary>
    internal static double GradientError(CompiledNetwork compiled, (string Name, ReferenceResult R) first, (string Name, ReferenceResult R) second) => new[]
    {
        SelfTestTolerances.MaxRelative(compiled.InputGradients["x"].ToArray(), first.R.GradX),
        SelfTestTolerances.MaxRelative(compiled.Gradients[$"{first.Name}.weight"].ToArray(), first.R.GradW!),
        SelfTestTolerances.MaxRelative(compiled.Gradients[$"{first.Name}.bias"].ToArray(), first.R.GradB!),
        SelfTestTolerances.MaxRelative(compiled.Gradients[$"{second.Name}.weight"].ToArray(), second.R.GradW!),
        SelfTestTolerances.MaxRelative(compiled.Gradients[$"{second.Name}.bias"].ToArray(), second.R.GradB!),
    }.Max();

    /// <summary>Per 2x2 window of <paramref name="a"/> ([N, C, H, W], H and W even), the index of its first maximum in
    /// scan order, as the pool takes it: windows in the pooled output's order.</summary>
    static int[] Maxima(float[] a, Shape shape)
    {
        int planes = shape[0] * shape[1], h = shape[2], w = shape[3];
        var windows = new int[planes * (h / 2) * (w / 2)];
        for (int plane = 0, p = 0; plane < planes; plane++)
            for (int py = 0; py < h / 2; py++)
                for (int px = 0; px < w / 2; px++, p++)
                {
                    int best = (plane * h + 2 * py) * w + 2 * px;
                    for (int k = 1; k < 4; k++)
                    {
                        int at = (plane * h + 2 * py + k / 2) * w + 2 * px + k % 2;
                        if (a[at] > a[best]) best = at;
                    }
                    windows[p] = best;
                }
        return windows;
    }

    static double[] D(float[] v) => SelfTestRunner.D(v);
}
