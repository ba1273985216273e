using Kiln.Graph;
using Kiln.Layers;

namespace Kiln.Cli.SelfTest;

/// <summary>
/// The fused MLP (a chain of Linear + activation layers that the compiler fuses into one layer): every registered
/// kernel entry for it that the device supports (<see cref="IMlpKernels"/>: the per-row kernels, the GPU tile
/// kernels, the tensor-core ones at Fp16), each forced through CompileOptions.PreferKernels, on a benchmark-like shape and random ones (widths
/// 1..64, 2..5 layers, tanh/ReLU/sigmoid, batches that are not a multiple of any tile), forward, input and every
/// parameter gradient against a double CPU reference.
/// </summary>
internal sealed class MlpCheck : KernelCheck
{
    public override string Operation => "mlp";

    /// <summary>Unused: a fused MLP has several parameters, so <see cref="Run"/> builds and checks its own networks.</summary>
    public override IEnumerable<CheckCase> Cases(Random rng, int count) => Enumerable.Empty<CheckCase>();

    /// <summary>
    /// Every case at each precision. At <see cref="Precision.Fp16"/> a ReLU case runs with tanh instead: the stored f16
    /// hidden outputs may round a tiny positive pre-activation to zero, which moves a ReLU's derivative from 1 to 0 there
    /// and says nothing about the kernels.
    /// </summary>
    public override IEnumerable<SelfTestResult> Run(GpuContext context, Random rng, int count, IReadOnlyList<Precision> precisions)
    {
        var entries = KernelRegistry.All.OfType<IMlpKernels>().Where(k => k.Supports(context.KernelDevice)).OrderBy(k => k.GetType().Name, StringComparer.Ordinal).ToList();
        var shapes = new List<(int[] Widths, Activation Act, int Rows)> { (new[] { 3, 64, 64, 64, 64, 3 }, Activation.ReLU, 1000) };
        var acts = new[] { Activation.Tanh, Activation.ReLU, Activation.Sigmoid };
        for (int i = 1; i < count; i++)
            shapes.Add((Enumerable.Range(0, rng.Next(3, 7)).Select(_ => rng.Next(1, 65)).ToArray(), acts[rng.Next(acts.Length)], rng.Next(1, 700)));
        foreach (var (widths, act, rows) in shapes)
        foreach (var entry in entries)
        foreach (var precision in precisions.Where(p => p >= entry.Arithmetic)) // the tensor-core entry: Fp16 only
            yield return Check(context, entry.GetType().Name, widths, precision == Precision.Fp16 && act == Activation.ReLU ? Activation.Tanh : act, rows, rng, precision);
    }

    static SelfTestResult Check(GpuContext context, string entry, int[] widths, Activation act, int rows, Random rng, Precision precision)
    {
        string name = $"{string.Join("-", widths)} {act} {rows} rows, {entry.Replace("Mlp", "").Replace("Kernels", "").ToLowerInvariant()}", kernels = "";
        try
        {
            var net = new Network();
            var h = net.Input("x");
            for (int l = 0; l + 1 < widths.Length; l++)
            {
                h = net.Add(new Linear(widths[l], widths[l + 1]), $"fc{l}", h);
                if (l + 2 < widths.Length)
                    h = net.Add(act switch { Activation.ReLU => new ReLU(), Activation.Sigmoid => new Sigmoid(), _ => (Layer)new Tanh() }, $"act{l}", h);
            }
            net.Output(h, "y");
            net.SetOutputGradient(h, net.Input("grad_y"));
            using var compiled = net.Compile(context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(rows, widths[0]), ["grad_y"] = new Shape(rows, widths[^1]) },
                Training = true, UpdateParameters = false, InputGradients = true, InputGradientNames = new[] { "x" }, FuseMlp = true,
                PreferKernels = new[] { entry }, Precision = precision,
            });
            kernels = string.Join(", ", compiled.Plan.Dispatches.Select(d => d.Kernel).Where(k => k.StartsWith("mlp/", StringComparison.Ordinal)).Distinct());
            if (kernels.Length == 0) throw new InvalidOperationException("the network was not fused");
            float[] Random(long n) => Enumerable.Range(0, checked((int)n)).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
            var x = Random((long)rows * widths[0]);
            var gy = Random((long)rows * widths[^1]);
            compiled.SetInput("x", x);
            compiled.SetInput("grad_y", gy);
            var w = new List<double[]>();
            var b = new List<double[]>();
            for (int l = 0; l + 1 < widths.Length; l++)
            {
                var wl = Random((long)widths[l + 1] * widths[l]);
                var bl = Random(widths[l + 1]);
                compiled.Parameters[$"fc{l}.weight"].Upload(wl);
                compiled.Parameters[$"fc{l}.bias"].Upload(bl);
                w.Add(D(wl));
                b.Add(D(bl));
            }
            compiled.Run();

            // CPU reference: forward keeping every layer's output, then the deltas back through the layers.
            var a = new List<double[]> { D(x) };
            for (int l = 0; l + 1 < widths.Length; l++)
            {
                int fin = widths[l], fout = widths[l + 1];
                var z = new double[rows * fout];
                for (int r = 0; r < rows; r++)
                for (int j = 0; j < fout; j++)
                {
                    double s = b[l][j];
                    for (int k = 0; k < fin; k++) s += a[l][r * fin + k] * w[l][j * fin + k];
                    z[r * fout + j] = l + 2 < widths.Length ? Activate(act, s) : s;
                }
                a.Add(z);
            }
            double forward = SelfTestTolerances.MaxRelative(compiled.GetOutput("y"), a[^1]);
            double gradient = 0;
            var d = D(gy);
            for (int l = widths.Length - 2; l >= 0; l--)
            {
                int fin = widths[l], fout = widths[l + 1];
                var gw = new double[fout * fin];
                var gb = new double[fout];
                var gx = new double[rows * fin];
                for (int r = 0; r < rows; r++)
                for (int j = 0; j < fout; j++)
                {
                    double dj = d[r * fout + j];
                    gb[j] += dj;
                    for (int k = 0; k < fin; k++)
                    {
                        gw[j * fin + k] += dj * a[l][r * fin + k];
                        gx[r * fin + k] += dj * w[l][j * fin + k];
                    }
                }
                gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.Gradients[$"fc{l}.weight"].ToArray(), gw));
                gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.Gradients[$"fc{l}.bias"].ToArray(), gb));
                if (l > 0) for (int i = 0; i < gx.Length; i++) gx[i] *= ActivateGrad(act, a[l][i]);
                d = gx;
            }
            gradient = Math.Max(gradient, SelfTestTolerances.MaxRelative(compiled.InputGradients["x"].ToArray(), d));
            return new SelfTestResult("mlp", name, precision, kernels, forward, gradient, null);
        }
        catch (Exception e) when (SelfTestRunner.Reportable(e))
        {
            return SelfTestResult.Failed("mlp", name, precision, kernels, e);
        }
    }

    static double Activate(Activation a, double v) => a switch
    {
        Activation.ReLU => Math.Max(v, 0), Activation.Sigmoid => 1 / (1 + Math.Exp(-v)), _ => Math.Tanh(v),
    };

    // From the activation's output, as the kernels compute it.
    static double ActivateGrad(Activation a, double y) => a switch
    {
        Activation.ReLU => y > 0 ? 1 : 0, Activation.Sigmoid => y * (1 - y), _ => 1 - y * y,
    };

    static double[] D(float[] v) => SelfTestRunner.D(v);
}
