using Kiln.Layers;
using Kiln.Tests.Layers;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The fused MLP on tensor cores (<see cref="MlpCoopMatKernels"/>: shaders/mlp/mlp.pack_f16 and .fwd, then .bwd
/// (the deltas), .dw (the parameters' gradients into padded partial slots) and mlp.reduce) where the device has fp16
/// cooperative matrices, each network compiled at Fp16 with the entry named:
/// <list type="bullet">
/// <item>against a CPU reference in double that rounds where the kernels round (<see cref="RoundedReference"/>): output,
/// input gradient and every weight and bias gradient within <see cref="Tolerance"/> of each tensor's largest value;</item>
/// <item>for tanh and sigmoid also against the network's Fp32 run (the fused per-row kernels) within
/// <see cref="Tolerances.F16Storage"/>. Not for ReLU: with f16 operands a pre-activation near zero can change sign,
/// and its unit's whole delta with it (as it would in any fp16 tensor-core MLP), so there the reference has to round
/// as the kernels do.</item>
/// </list>
/// The shapes cover widths that are not multiples of the matrices (padding), layers with fewer column tiles than
/// subgroups (idle subgroups), batches that end inside a block (padded rows in the saved inputs and deltas), a batch
/// large enough that the weight gradients' workgroups take several tiles of rows each, eight layers, and every
/// activation. On Mesa 26's lavapipe (tools/coopmat-lavapipe.sh) the matrices are 8x8x8 and a block 64 rows.
/// </summary>
public sealed class CooperativeMatrixMlpTests : CooperativeMatrixTest
{
    const string Entry = nameof(MlpCoopMatKernels);
    const float Slope = 0.1f;
    /// <summary>Against the rounded reference: one f16 rounding step (2^-11 relative) taken differently here and there,
    /// where a double sum and the kernels' f32 sums fall on either side of a rounding boundary.</summary>
    const double Tolerance = 2e-3;

    static IEnumerable<TestCaseData> Networks() => new[]
    {
        new TestCaseData(new[] { 3, 64, 64, 64, 64, 3 }, Activation.ReLU, 130).SetArgDisplayNames("mlp_64x4_relu_batch130"),
        new TestCaseData(new[] { 5, 13, 7, 2 }, Activation.Tanh, 130).SetArgDisplayNames("odd_widths_tanh"),
        new TestCaseData(new[] { 2, 8, 8, 1 }, Activation.Tanh, 65).SetArgDisplayNames("playground_widths"),
        new TestCaseData(new[] { 64, 64, 64 }, Activation.Sigmoid, 64).SetArgDisplayNames("64_64_64_sigmoid_one_block"),
        new TestCaseData(new[] { 24, 40, 33, 10 }, Activation.LeakyReLU, 200).SetArgDisplayNames("leaky_relu"),
        new TestCaseData(new[] { 3, 17, 1, 33, 2, 64, 9, 4, 6 }, Activation.Tanh, 150).SetArgDisplayNames("eight_layers_odd_widths"),
        // 16484 rows = 258 blocks of 64 (S = 8): 2064 tiles of 8 rows, 9 of them per weight-gradient workgroup (230 chunks).
        new TestCaseData(new[] { 3, 16, 16, 3 }, Activation.Tanh, 16484).SetArgDisplayNames("several_tiles_per_weight_gradient_workgroup"),
    };

    static Func<Layer> Layer(Activation act) => act switch
    {
        Activation.ReLU => () => new ReLU(),
        Activation.LeakyReLU => () => new LeakyReLU(Slope),
        Activation.Tanh => () => new Tanh(),
        Activation.Sigmoid => () => new Sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    [TestCaseSource(nameof(Networks))]
    public void MatchesTheRoundedReference_AndTheF32Run(int[] widths, Activation act, int batch)
    {
        var f16 = F16StorageLinearTests.RunMlp(widths, Layer(act), batch, fuseMlp: true, texel: false, Entry, Precision.Fp16);
        Assert.That(f16.Kernels, Does.Contain("mlp/mlp.coopmat.fwd.f16").And.Contain("mlp/mlp.coopmat.bwd.f16")
                .And.Contain("mlp/mlp.coopmat.dw").And.Contain("mlp/mlp.reduce"),
            string.Join(", ", f16.Kernels));
        var (y, gx, grads, ambiguous) = RoundedReference(widths, act, batch, f16);
        Assert.That(ambiguous, Is.Zero, "test data: ReLU pre-activations so near zero that f32 sums could go either way; choose another batch");
        Assert.That(f16.Grads.Keys, Is.EquivalentTo(grads.Keys));
        Assert.Multiple(() =>
        {
            F16StorageCheck.Close(f16.Y, y, Tolerance, "output vs rounded reference");
            F16StorageCheck.Close(f16.GradX, gx, Tolerance, "input gradient vs rounded reference");
            foreach (var (name, g) in grads) F16StorageCheck.Close(f16.Grads[name], g, Tolerance, $"gradient of {name} vs rounded reference");
        });
        if (act is Activation.ReLU or Activation.LeakyReLU) return;

        var f32 = F16StorageLinearTests.RunMlp(widths, Layer(act), batch, fuseMlp: true, texel: false, Entry, Precision.Fp32);
        Assert.That(f32.Kernels, Has.None.Contains("coopmat"), "Fp32 never runs fp16 operands");
        Assert.Multiple(() =>
        {
            F16StorageCheck.Close(f16.Y, f32.Y, Tolerances.F16Storage, "output vs f32");
            F16StorageCheck.Close(f16.GradX, f32.GradX, Tolerances.F16Storage, "input gradient vs f32");
            foreach (var (name, g) in f32.Grads) F16StorageCheck.Close(f16.Grads[name], g, Tolerances.F16Storage, $"gradient of {name} vs f32");
        });
    }

    /// <summary>Without the input gradient the backward stops at the first layer's weight: the parameters' gradients are
    /// the same. A second run of the same step gives bit-identical gradients (every slot is written whole each run; the
    /// sums are in a fixed order).</summary>
    [Test]
    public void WithoutInputGradients_AndRunTwice_TheGradientsAreTheSame()
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        const int batch = 16484;
        var once = F16StorageLinearTests.RunMlp(widths, Layer(Activation.ReLU), batch, fuseMlp: true, texel: false, Entry, Precision.Fp16);
        var twice = F16StorageLinearTests.RunMlp(widths, Layer(Activation.ReLU), batch, fuseMlp: true, texel: false, Entry, Precision.Fp16,
            inputGrads: false, runs: 2);
        Assert.That(twice.Kernels, Does.Contain("mlp/mlp.coopmat.bwd.f16"));
        foreach (var (name, g) in once.Grads) Assert.That(twice.Grads[name], Is.EqualTo(g).AsCollection, $"gradient of {name}");
    }

    /// <summary>An inference plan (no hidden outputs saved) against the Fp32 one.</summary>
    [Test]
    public void Inference_MatchesTheF32FusedMlp()
    {
        int[] widths = { 3, 64, 64, 64, 64, 3 };
        const int batch = 100;
        float[] Run(Precision precision, out string[] kernels)
        {
            using var c = F16StorageLinearTests.Mlp(widths, Layer(Activation.Tanh)).Compile(Context, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, widths[0]), ["target"] = new Shape(batch, widths[^1]) },
                FuseMlp = true, Precision = precision, Seed = 3, PreferKernels = new[] { Entry },
            });
            var rng = new Random(5);
            c.SetInput("x", Enumerable.Range(0, batch * widths[0]).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
            c.Run();
            kernels = c.Plan.Dispatches.Select(d => d.Kernel).ToArray();
            return c.GetOutput("y");
        }
        var f32 = Run(Precision.Fp32, out _);
        var f16 = Run(Precision.Fp16, out var k16);
        Assert.That(k16.Where(k => k.StartsWith("mlp/")), Is.EqualTo(new[] { "mlp/mlp.pack_f16", "mlp/mlp.coopmat.fwd.f16" }), string.Join(", ", k16));
        F16StorageCheck.Close(f16, f32, Tolerances.F16Storage, "output");
    }

    static float H(double v) => (float)(Half)v;

    static double Activate(Activation act, double z) => act switch
    {
        Activation.ReLU => Math.Max(z, 0),
        Activation.LeakyReLU => z >= 0 ? z : Slope * z,
        Activation.Tanh => Math.Tanh(z),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-z)),
        _ => z,
    };

    // From the activation's output, as include/mlp.glsl's mlp_act_grad.
    static double Derivative(Activation act, double y) => act switch
    {
        Activation.ReLU => y > 0 ? 1 : 0,
        Activation.LeakyReLU => y > 0 ? 1 : Slope,
        Activation.Tanh => 1 - y * y,
        Activation.Sigmoid => y * (1 - y),
        _ => 1,
    };

    /// <summary>
    /// The step in double with the kernels' f16 roundings: x, the output gradient and the weights rounded to f16 (the
    /// tensor cores' operands); every layer's activated output rounded to f16 (it is kept in shared memory and saved as f16); the
    /// deltas rounded to f16 after the product with the weight and again after the activation's derivative; the input
    /// gradient rounded to f16. Sums are exact (double); the biases stay f32.
    /// Ambiguous counts the ReLU and LeakyReLU pre-activations whose sign the kernels' f32 sums, in any order, could get
    /// wrong (|z| within twice the bound n 2^-24 sum |terms| of zero): the unit's delta would change with it.
    /// </summary>
    static (float[] Y, float[] GradX, Dictionary<string, float[]> Grads, int Ambiguous) RoundedReference(int[] widths, Activation act, int batch,
        F16StorageLinearTests.MlpRun run)
    {
        int ambiguous = 0;
        int layers = widths.Length - 1;
        var w = Enumerable.Range(0, layers).Select(l => run.Params[$"linear_{l}.weight"].Select(v => (double)H(v)).ToArray()).ToArray();
        var b = Enumerable.Range(0, layers).Select(l => run.Params[$"linear_{l}.bias"]).ToArray();
        Activation Act(int l) => l + 1 < layers ? act : Activation.None;
        var a = new double[layers + 1][];
        a[0] = run.X.Select(v => (double)H(v)).ToArray();
        for (int l = 0; l < layers; l++)
        {
            int fin = widths[l], fout = widths[l + 1];
            a[l + 1] = new double[batch * fout];
            for (int r = 0; r < batch; r++)
                for (int j = 0; j < fout; j++)
                {
                    double z = b[l][j], size = Math.Abs(z);
                    for (int k = 0; k < fin; k++)
                    {
                        z += a[l][r * fin + k] * w[l][j * fin + k];
                        size += Math.Abs(a[l][r * fin + k] * w[l][j * fin + k]);
                    }
                    if (Act(l) is Activation.ReLU or Activation.LeakyReLU && Math.Abs(z) <= 2 * (fin + 1) * Math.ScaleB(size, -24)) ambiguous++;
                    a[l + 1][r * fout + j] = H(Activate(Act(l), z));
                }
        }
        var grads = new Dictionary<string, float[]>();
        double[] d = run.Target.Select((t, i) => (double)H(H(t) * Derivative(Act(layers - 1), a[layers][i]))).ToArray();
        float[] gradX = Array.Empty<float>();
        for (int l = layers - 1; l >= 0; l--)
        {
            int fin = widths[l], fout = widths[l + 1];
            var gw = new float[fout * fin];
            var gb = new float[fout];
            for (int j = 0; j < fout; j++)
            {
                double sb = 0;
                for (int r = 0; r < batch; r++) sb += d[r * fout + j];
                gb[j] = (float)sb;
                for (int k = 0; k < fin; k++)
                {
                    double s = 0;
                    for (int r = 0; r < batch; r++) s += d[r * fout + j] * a[l][r * fin + k];
                    gw[j * fin + k] = (float)s;
                }
            }
            grads[$"linear_{l}.weight"] = gw;
            grads[$"linear_{l}.bias"] = gb;
            var next = new double[batch * fin];
            for (int r = 0; r < batch; r++)
                for (int k = 0; k < fin; k++)
                {
                    double p = 0;
                    for (int j = 0; j < fout; j++) p += d[r * fout + j] * w[l][j * fin + k];
                    next[r * fin + k] = l > 0 ? H(H(p) * Derivative(Act(l - 1), a[l][r * fin + k])) : H(p);
                }
            if (l == 0) gradX = next.Select(v => (float)v).ToArray();
            d = next;
        }
        return (a[layers].Select(v => (float)v).ToArray(), gradX, grads, ambiguous);
    }
}
