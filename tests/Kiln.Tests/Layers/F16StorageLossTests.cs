using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// f16 activation storage of the losses agrees with f32 storage: predictions, targets and masks are f16 activations and
/// their gradients f16, while the loss value and its gradient input stay f32. Each loss twice: as the network's loss (the
/// training configuration: f32 value, f32 backward seed) on both registered reduction splits, and through
/// <see cref="F16StorageCheck"/> as an intermediate value followed by a <see cref="DotLoss"/> (its value stored as f16).
/// Inputs are drawn in each loss's own range; where a gradient jumps (L1's sign), prediction and target stay further
/// apart than f16 rounding moves them.
/// </summary>
public sealed class F16StorageLossTests : GpuTest
{
    const string Split = "SplitReduction", Single = "SingleGroupReduction";

    static float[] Uniform(long n, int seed, double lo, double hi) =>
        RandomData.Uniform(checked((int)n), seed, lo, hi).Select(v => (float)v).ToArray();

    /// <summary>A loss with its input shapes and data.</summary>
    public sealed record Case(string Name, Func<Layer> Make, Shape[] Shapes, float[][] Inputs)
    {
        public override string ToString() => Name;
    }

    /// <summary>t = p + s, |s| in [0.05, 0.5] of either sign: |p - t| far above f16 rounding, so sign(p - t) is the same in both runs.</summary>
    static float[] Apart(float[] p, int seed)
    {
        var size = Uniform(p.Length, seed, 0.05, 0.5);
        var sign = RandomData.Mask(p.Length, seed + 1);
        return p.Select((v, i) => v + (sign[i] > 0 ? size[i] : -size[i])).ToArray();
    }

    static float[] BinaryMask(long n, int seed) => RandomData.Mask(checked((int)n), seed).Select(v => (float)v).ToArray();

    static Case Pair(string kind, Shape s, int seed)
    {
        var p = Uniform(s.Elements, seed, -1, 1);
        return kind switch
        {
            "mse" => new Case($"mse_{s}", () => new MseLoss(), new[] { s, s }, new[] { p, Uniform(s.Elements, seed + 1, -1, 1) }),
            "l1" => new Case($"l1_{s}", () => new L1Loss(), new[] { s, s }, new[] { p, Apart(p, seed + 1) }),
            "huber" => new Case($"huber_{s}", () => new HuberLoss(0.5f), new[] { s, s }, new[] { p, Uniform(s.Elements, seed + 1, -1, 1) }),
            "bce" => new Case($"bce_{s}", () => new BceWithLogitsLoss(), new[] { s, s },
                new[] { Uniform(s.Elements, seed, -6, 6), Uniform(s.Elements, seed + 1, 0, 1) }),
            _ => throw new ArgumentException(kind),
        };
    }

    static Case Masked(bool l1, Shape s, Shape mask, bool soft, int seed)
    {
        var p = Uniform(s.Elements, seed, -1, 1);
        var t = l1 ? Apart(p, seed + 1) : Uniform(s.Elements, seed + 1, -1, 1);
        var m = soft ? Uniform(mask.Elements, seed + 3, 0, 1) : BinaryMask(mask.Elements, seed + 3);
        string name = $"masked_{(l1 ? "l1" : "mse")}_{(mask == s ? "full" : "broadcast")}{(soft ? "_soft" : "")}_{s}";
        return new Case(name, () => l1 ? new MaskedL1Loss() : new MaskedMseLoss(), new[] { s, s, mask }, new[] { p, t, m });
    }

    /// <summary>Logits in [-3, 3] against rows of class probabilities (positive, summing to 1).</summary>
    static Case SoftmaxCe(int rows, int classes, int seed)
    {
        var s = new Shape(rows, classes);
        var raw = Uniform(s.Elements, seed + 1, 0.05, 1);
        var t = raw.Select((v, i) => v / raw.Skip(i / classes * classes).Take(classes).Sum()).ToArray();
        return new Case($"softmax_ce_{rows}x{classes}", () => new SoftmaxCrossEntropyLoss(), new[] { s, s }, new[] { Uniform(s.Elements, seed, -3, 3), t });
    }

    /// <summary>Element counts past the last vec4 (210, 7, 6138), and for the split reduction over 1024 elements (several workgroups).</summary>
    static IEnumerable<Case> Cases()
    {
        var shapes = new[] { new Shape(2, 3, 5, 7), new Shape(7), new Shape(2, 3, 33, 31) };
        int seed = 100;
        foreach (var kind in new[] { "mse", "l1", "huber", "bce" })
            foreach (var s in shapes)
                yield return Pair(kind, s, seed += 10);
        foreach (var l1 in new[] { false, true })
        {
            yield return Masked(l1, new Shape(2, 3, 5, 7), new Shape(2, 1, 5, 7), false, seed += 10);
            yield return Masked(l1, new Shape(2, 3, 5, 7), new Shape(2, 3, 5, 7), false, seed += 10);
            yield return Masked(l1, new Shape(2, 2, 30, 21), new Shape(2, 1, 30, 21), true, seed += 10);
            yield return Masked(l1, new Shape(3, 1, 5, 5), new Shape(3, 1, 5, 5), true, seed += 10);
        }
        yield return SoftmaxCe(5, 7, seed += 10);
        yield return SoftmaxCe(300, 10, seed += 10);
        yield return SoftmaxCe(3, 1000, seed += 10);
    }

    static IEnumerable<TestCaseData> NetworkLossCases() =>
        from c in Cases()
        from kernel in new[] { Single, Split }
        select new TestCaseData(c, kernel).SetArgDisplayNames(c.Name, kernel);

    /// <summary>
    /// A fixed loss scale in both runs: the backward seed is the f32 loss scale (from the step state) as in Fp16 training,
    /// and the gradients of both runs are scaled alike, so they compare directly.
    /// </summary>
    static readonly LossScaling Scaling = new() { Initial = 256f, GrowthInterval = 0 };

    /// <summary>The loss value, the gradients of its inputs (times <see cref="Scaling"/>) and the kernels of a training step with the loss as the network's loss.</summary>
    static (float Loss, float[][] Gradients, string[] Kernels, string[] Labels) RunAsNetworkLoss(Case c, Precision precision, string kernel)
    {
        var net = new Network();
        var ins = c.Shapes.Select((_, i) => net.Input($"x{i}")).ToArray();
        net.SetLoss(c.Make(), ins);
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = c.Shapes.Select((s, i) => ($"x{i}", s)).ToDictionary(p => p.Item1, p => p.s),
            Training = true,
            InputGradients = true,
            LearningRate = 0f,
            Precision = precision,
            PreferKernels = new[] { kernel },
            LossScaling = Scaling,
        });
        for (int i = 0; i < c.Inputs.Length; i++) compiled.SetInput($"x{i}", c.Inputs[i]);
        compiled.Run();
        var grads = c.Shapes.Select((_, i) => compiled.InputGradients[$"x{i}"].ToArray()).ToArray();
        return (compiled.GetOutput("loss")[0], grads, compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray(),
            compiled.Plan.Dispatches.Select(d => d.Label).ToArray());
    }

    [TestCaseSource(nameof(NetworkLossCases))]
    public void AsNetworkLoss_MatchesF32(Case c, string kernel)
    {
        var f32 = RunAsNetworkLoss(c, Precision.Fp32, kernel);
        var f16 = RunAsNetworkLoss(c, Precision.Fp16, kernel);
        Assert.That(f16.Kernels.Where(k => k.StartsWith("loss/")), Has.All.EndsWith(".f16"), "every loss kernel reads f16 activations");
        Assert.That(f16.Labels.Where(l => l.EndsWith(".store") || l.EndsWith(".seed")), Is.Empty,
            "the network's loss is written as f32 and its f32 backward seed is bound directly, with no conversion");
        Assert.That(f32.Loss, Is.GreaterThan(0f), "a loss that is not zero, so the relative comparison means something");
        F16StorageCheck.Close(new[] { f16.Loss }, new[] { f32.Loss }, Tolerances.F16Storage, "loss");
        // The mask is a constant of the masked losses: its gradient is zero in both runs.
        for (int i = 0; i < f32.Gradients.Length; i++)
            F16StorageCheck.Close(f16.Gradients[i], f32.Gradients[i], Tolerances.F16Storage, $"gradient of input {i}");
    }

    /// <summary>The loss as an intermediate value (its value and its gradient input stored as f16, converted at the loss).</summary>
    [TestCaseSource(nameof(Cases))]
    public void AsIntermediateValue_MatchesF32(Case c) =>
        F16StorageCheck.Matches(Context, c.Make(), c.Shapes, input: i => c.Inputs[i]);
}
