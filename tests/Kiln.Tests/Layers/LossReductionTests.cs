using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The loss forwards as full reductions (engine/Layers/Loss/LossReduction.cs) on both registered splits: the one
/// lavapipe picks (SingleGroupReduction: one workgroup finishes the value) and the GPU's (SplitReduction, forced here
/// with CompileOptions.PreferKernels: many workgroups' partials, then reduce/finish). Sizes from one element to over a
/// million with odd remainders (past the last vec4 and the last whole workgroup chunk), against double CPU sums; the
/// split path gives the same bits on every run.
/// </summary>
public sealed class LossReductionTests : GpuTest
{
    const string Split = "SplitReduction", Single = "SingleGroupReduction";

    static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    static float[] Uniform(long length, int seed, double lo, double hi) =>
        RandomData.Uniform(checked((int)length), seed, lo, hi).Select(v => (float)v).ToArray();

    /// <summary>A loss, its input shapes and data, and the double reference of its value.</summary>
    sealed record Case(Layer Loss, Shape[] Shapes, float[][] Inputs, double Expected);

    static Case Make(string kind, int size)
    {
        int r = 7000 + size % 1000 + kind.Length;
        var v = new Shape(size);
        float[] P() => Uniform(size, r++, -2, 2);
        switch (kind)
        {
            case "mse": { var (p, t) = (P(), P()); return new(new MseLoss(), new[] { v, v }, new[] { p, t }, RefMseLoss.Forward(D(p), D(t))); }
            case "l1": { var (p, t) = (P(), P()); return new(new L1Loss(), new[] { v, v }, new[] { p, t }, RefL1Loss.Forward(D(p), D(t))); }
            case "huber": { var (p, t) = (P(), P()); return new(new HuberLoss(0.8f), new[] { v, v }, new[] { p, t }, RefHuberLoss.Forward(D(p), D(t), 0.8f)); }
            case "bce":
            {
                var (x, t) = (Uniform(size, r++, -6, 6), Uniform(size, r++, 0, 1));
                return new(new BceWithLogitsLoss(), new[] { v, v }, new[] { x, t }, RefBceWithLogitsLoss.Forward(D(x), D(t)));
            }
            case "dot":
            {
                // Mixed signs with a positive mean, so the sum is not a cancellation that no float order could keep.
                var (a, b) = (Uniform(size, r++, -0.5, 1.5), Uniform(size, r++, -0.5, 1.5));
                return new(new DotLoss(), new[] { v, v }, new[] { a, b }, a.Zip(b, (x, y) => (double)x * y).Sum());
            }
            case "masked_mse" or "masked_l1":
            {
                var s = new Shape(1, 1, 1, size);
                var (p, t) = (P(), P());
                var m = RandomData.Uniform(size, r++, 0, 1);
                bool l1 = kind == "masked_l1";
                double e = l1 ? RefMaskedL1Loss.Forward(D(p), D(t), m, 1, 1, 1, size) : RefMaskedMseLoss.Forward(D(p), D(t), m, 1, 1, 1, size);
                return new(l1 ? new MaskedL1Loss() : new MaskedMseLoss(), new[] { s, s, s }, new[] { p, t, m.Select(x => (float)x).ToArray() }, e);
            }
            case "masked_mse_broadcast":
            {
                // [n, 3, 1, w] against a [n, 1, 1, w] mask: the numerator's and the mask's chunks differ.
                int n = size < 255 ? 1 : size < 1000 ? 5 : 7, w = Math.Max(1, size / (3 * n));
                var s = new Shape(n, 3, 1, w);
                var (p, t) = (Uniform(s.Elements, r++, -2, 2), Uniform(s.Elements, r++, -2, 2));
                var m = RandomData.Mask(n * w, r++);
                return new(new MaskedMseLoss(), new[] { s, s, new Shape(n, 1, 1, w) }, new[] { p, t, m.Select(x => (float)x).ToArray() },
                    RefMaskedMseLoss.Forward(D(p), D(t), m, n, 3, 1, w));
            }
            case "softmax_ce":
            {
                const int c = 3;
                var x = Uniform((long)size * c, r++, -4, 4);
                var t = Uniform((long)size * c, r++, 0, 1);
                for (int i = 0; i < size; i++)
                {
                    float sum = t[i * c] + t[i * c + 1] + t[i * c + 2];
                    for (int k = 0; k < c; k++) t[i * c + k] /= sum;
                }
                var s = new Shape(size, c);
                return new(new SoftmaxCrossEntropyLoss(), new[] { s, s }, new[] { x, t }, RefSoftmaxCrossEntropyLoss.Forward(D(x), D(t), size, c));
            }
            default: throw new ArgumentException(kind);
        }
    }

    static CompiledNetwork Compile(Case c, string kernel)
    {
        var net = new Network();
        var ins = c.Shapes.Select((_, i) => net.Input($"x{i}")).ToArray();
        net.Output(net.Add(c.Loss, "loss", ins), "y");
        var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = c.Shapes.Select((s, i) => ($"x{i}", s)).ToDictionary(p => p.Item1, p => p.s),
            PreferKernels = new[] { kernel },
        });
        for (int i = 0; i < c.Inputs.Length; i++) compiled.SetInput($"x{i}", c.Inputs[i]);
        return compiled;
    }

    static readonly string[] Kinds = { "mse", "l1", "huber", "bce", "dot", "masked_mse", "masked_l1", "masked_mse_broadcast", "softmax_ce" };

    static IEnumerable<TestCaseData> Cases() =>
        from kind in Kinds
        from size in new[] { 1, 255, 1000003 }
        from kernel in new[] { Split, Single }
        select new TestCaseData(kind, size, kernel).SetArgDisplayNames(kind, size.ToString(), kernel);

    [TestCaseSource(nameof(Cases))]
    public void ForwardMatchesDoubleSum(string kind, int size, string kernel)
    {
        var c = Make(kind, size);
        using var compiled = Compile(c, kernel);
        compiled.Run();
        var y = compiled.GetOutput("y");
        Assert.That(RelativeError.MaxRelative(y, new[] { c.Expected }), Is.LessThan(Tolerances.Forward), $"{kind}: {y[0]} vs {c.Expected}");

        var first = compiled.Plan.Dispatches.Single(d => d.Label == "loss.fwd");
        bool finishes = compiled.Plan.Dispatches.Any(d => d.Kernel == "reduce/finish");
        long units = kind == "softmax_ce" ? size : c.Shapes[0].Elements;
        bool manyGroups = kernel == Split && units > (kind == "softmax_ce" ? 256 : 1024);
        Assert.That(finishes, Is.EqualTo(manyGroups), "a second level exactly when more than one workgroup shares the sum");
        if (manyGroups) Assert.That(first.Groups, Does.Not.StartWith("1x"), "the first level runs many workgroups");
    }

    /// <summary>Rows of many classes: on the split, several lanes share a row (1, 16, 128 and 256 lanes here).</summary>
    [TestCase(1000, 63, 1)]
    [TestCase(3, 64, 16)]
    [TestCase(300, 1000, 128)]
    [TestCase(5, 4099, 256)]
    public void SoftmaxCe_ManyClasses_MatchesDoubleSum(int rows, int classes, int lanes)
    {
        Assert.That(new SplitReduction().RowLanes(classes), Is.EqualTo(lanes));
        int r = 7900 + classes;
        var x = Uniform((long)rows * classes, r++, -5, 5);
        var t = Uniform((long)rows * classes, r++, 0, 1);
        var s = new Shape(rows, classes);
        var c = new Case(new SoftmaxCrossEntropyLoss(), new[] { s, s }, new[] { x, t }, RefSoftmaxCrossEntropyLoss.Forward(D(x), D(t), rows, classes));
        foreach (var kernel in new[] { Split, Single })
        {
            using var compiled = Compile(c, kernel);
            compiled.Run();
            var y = compiled.GetOutput("y");
            Assert.That(RelativeError.MaxRelative(y, new[] { c.Expected }), Is.LessThan(Tolerances.Forward), $"{kernel}: {y[0]} vs {c.Expected}");
        }
    }

    [TestCase("mse")]
    [TestCase("dot")]
    [TestCase("bce")]
    [TestCase("masked_mse_broadcast")]
    [TestCase("softmax_ce")]
    public void SplitIsBitIdenticalRunToRun(string kind)
    {
        var c = Make(kind, 1000003);
        uint[] Bits(CompiledNetwork n)
        {
            n.Run();
            return n.GetOutput("y").Select(BitConverter.SingleToUInt32Bits).ToArray();
        }
        using var a = Compile(c, Split);
        var first = Bits(a);
        Assert.That(Bits(a), Is.EqualTo(first), "the same network, run again");
        using var b = Compile(c, Split);
        Assert.That(Bits(b), Is.EqualTo(first), "a second compile of the same network");
    }

    /// <summary>The masked losses' backward reduces the mask again (loss/masked.den) with the forward's split.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void MaskedBackwardOnTheSplit(bool l1)
    {
        int n = 2, ch = 3, h = 301, w = 300, r = 7700;
        var s = new Shape(n, ch, h, w);
        var ms = new Shape(n, 1, h, w);
        var p = Uniform(s.Elements, r++, -2, 2);
        var t = Uniform(s.Elements, r++, -2, 2);
        var m = RandomData.Uniform((int)ms.Elements, r++, 0, 1);
        var net = new Network();
        var y = net.Add(l1 ? new MaskedL1Loss() : new MaskedMseLoss(), "masked", net.Input("p"), net.Input("t"), net.Input("m"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["p"] = s, ["t"] = s, ["m"] = ms, ["g"] = new Shape(1) },
            Training = true, InputGradients = true, LearningRate = 0f, Fuse = false,
            PreferKernels = new[] { Split },
        });
        const float gl = 0.75f;
        compiled.SetInput("p", p);
        compiled.SetInput("t", t);
        compiled.SetInput("m", m.Select(x => (float)x).ToArray());
        compiled.SetInput("g", new[] { gl });
        compiled.Run();
        Assert.That(compiled.Plan.Dispatches.Count(d => d.Kernel == "reduce/finish"), Is.EqualTo(2), "the loss forward and the backward's denominator");
        double loss = l1 ? RefMaskedL1Loss.Forward(D(p), D(t), m, n, ch, h, w) : RefMaskedMseLoss.Forward(D(p), D(t), m, n, ch, h, w);
        var gp = l1 ? RefMaskedL1Loss.Backward(D(p), D(t), m, n, ch, h, w, gl) : RefMaskedMseLoss.Backward(D(p), D(t), m, n, ch, h, w, gl);
        Assert.That(RelativeError.MaxRelative(compiled.GetOutput("y"), new[] { loss }), Is.LessThan(Tolerances.Forward), "loss");
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["p"].ToArray(), gp), Is.LessThan(Tolerances.Gradient), "grad_prediction");
        Assert.That(RelativeError.MaxRelative(compiled.InputGradients["t"].ToArray(), gp.Select(v => -v).ToArray()), Is.LessThan(Tolerances.Gradient), "grad_target");
    }
}
