using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// f16 activation storage of the pooling, resampling, joining, normalisation and pointwise layers agrees with f32 storage
/// (<see cref="F16StorageCheck"/>: output, input gradients and parameter gradients), on shapes with odd sizes and
/// element counts that are not multiples of 4; and a small network of these layers trains under
/// <see cref="Precision.Fp16"/> with every one of their kernels in its f16 variant.
/// </summary>
public sealed class F16StorageLayerTests : GpuTest
{
    static float[] Uniform(long n, int seed, double lo, double hi) =>
        RandomData.Uniform(checked((int)n), seed, lo, hi).Select(v => (float)v).ToArray();

    /// <summary>
    /// n values in [-1, 1] in a random order, 2 / n apart: still distinct after rounding to f16 (spacing at most 2^-11
    /// below 1) for n up to 2000, so a max-pooling window has one maximum in both runs and the gradient takes one route.
    /// </summary>
    static float[] Distinct(long n, int seed)
    {
        Assert.That(n, Is.LessThanOrEqualTo(2000), "f16 keeps values 2/n apart distinct only up to n = 2000");
        var rng = new Random(seed);
        return Enumerable.Range(0, (int)n).Select(k => (float)((k + 0.5) / n * 2 - 1)).OrderBy(_ => rng.Next()).ToArray();
    }

    static IEnumerable<TestCaseData> Pools()
    {
        foreach (var max in new[] { true, false })
        {
            string k = max ? "max" : "avg";
            Layer Pool(int kernel, int? stride = null) => max ? new MaxPool2d(kernel, stride) : new AvgPool2d(kernel, stride);
            yield return new TestCaseData(Pool(2), new Shape(2, 3, 6, 10)).SetArgDisplayNames($"{k}_2x2");
            yield return new TestCaseData(Pool(3, 2), new Shape(1, 3, 9, 11)).SetArgDisplayNames($"{k}_3x3_stride2_overlapping");
            yield return new TestCaseData(Pool(3, 2), new Shape(1, 3, 10, 8)).SetArgDisplayNames($"{k}_3x3_stride2_floor_leftover");
            yield return new TestCaseData(Pool(2, 3), new Shape(2, 2, 7, 8)).SetArgDisplayNames($"{k}_2x2_stride3_gaps");
            // Widths where the kernels take 4 outputs (forward) and 4 windows (backward) per invocation (Pool2dKernels.Vector).
            yield return new TestCaseData(Pool(2), new Shape(2, 3, 6, 16)).SetArgDisplayNames($"{k}_2x2_vector");
            yield return new TestCaseData(Pool(3), new Shape(1, 2, 6, 12)).SetArgDisplayNames($"{k}_3x3_vector");
        }
    }

    [TestCaseSource(nameof(Pools))]
    public void Pool_MatchesF32(Layer layer, Shape shape) =>
        F16StorageCheck.Matches(Context, layer, new[] { shape }, input: _ => Distinct(shape.Elements, 11));

    static IEnumerable<TestCaseData> Upsamples()
    {
        yield return new TestCaseData(new Upsample(2), new Shape(2, 3, 5, 7)).SetArgDisplayNames("nearest_x2");
        yield return new TestCaseData(new Upsample(3), new Shape(1, 2, 3, 5)).SetArgDisplayNames("nearest_x3");
        yield return new TestCaseData(new Upsample(2, UpsampleMode.Bilinear), new Shape(1, 3, 5, 6)).SetArgDisplayNames("bilinear_x2");
        yield return new TestCaseData(new Upsample(3, UpsampleMode.BilinearAlignCorners), new Shape(2, 2, 4, 5)).SetArgDisplayNames("bilinear_align_corners_x3");
        // Widths where both kernels take 4 elements per invocation (UpsampleKernels.Vector).
        yield return new TestCaseData(new Upsample(2), new Shape(2, 3, 5, 8)).SetArgDisplayNames("nearest_x2_vector");
        yield return new TestCaseData(new Upsample(2, UpsampleMode.Bilinear), new Shape(1, 3, 5, 8)).SetArgDisplayNames("bilinear_x2_vector");
    }

    [TestCaseSource(nameof(Upsamples))]
    public void Upsample_MatchesF32(Layer layer, Shape shape) => F16StorageCheck.Matches(Context, layer, new[] { shape });

    [Test]
    public void Concat_TwoInputs_MatchesF32() =>
        F16StorageCheck.Matches(Context, new Concat(), new[] { new Shape(2, 3, 5, 7), new Shape(2, 5, 5, 7) });

    [Test]
    public void Concat_ThreeInputs_MatchesF32() =>
        F16StorageCheck.Matches(Context, new Concat(), new[] { new Shape(1, 1, 3, 3), new Shape(1, 2, 3, 3), new Shape(1, 3, 3, 3) });

    [TestCase(PadMode.Zero)]
    [TestCase(PadMode.Replicate)]
    public void Pad_MatchesF32(PadMode mode)
    {
        F16StorageCheck.Matches(Context, new Pad(1, 2, 3, 1, mode), new[] { new Shape(2, 3, 5, 7) });
        F16StorageCheck.Matches(Context, new Pad(2, 0, 1, 3, mode), new[] { new Shape(1, 2, 1, 5) });
    }

    [TestCase(2, 3, 17, 19)]
    [TestCase(3, 5, 1, 3)]
    [TestCase(1, 2, 80, 70)] // split over workgroups, summed in order into the f16 output
    public void GlobalAvgPool2d_MatchesF32(int n, int c, int h, int w)
    {
        var kernels = F16StorageCheck.Matches(Context, new GlobalAvgPool2d(), new[] { new Shape(n, c, h, w) });
        bool split = h * w > GlobalAvgPool2d.Chunk;
        Assert.That(kernels.Contains("reduce/partials.f16"), Is.EqualTo(split), string.Join(", ", kernels));
    }

    /// <summary>The training form (batch statistics), on a channel count and sizes that leave odd counts per channel.</summary>
    [TestCase(2, 3, 5, 7)]
    [TestCase(4, 5, 3, 3)]
    public void BatchNorm2d_Training_MatchesF32(int n, int c, int h, int w) =>
        F16StorageCheck.Matches(Context, new BatchNorm2d(c), new[] { new Shape(n, c, h, w) }, input: _ => Uniform(n * c * h * w, 21, -3, 5));

    [Test]
    public void BatchNorm2d_RunningStatistics_MatchesF32()
    {
        var shape = new Shape(2, 3, 5, 7);
        F16StorageCheck.Matches(Context, new BatchNorm2d(3, useRunningStatistics: true), new[] { shape });
        // Inference (no training step): the running statistics normalise, forward only.
        F16StorageCheck.Matches(Context, new BatchNorm2d(3), new[] { shape }, backward: false);
    }

    static IEnumerable<TestCaseData> Binaries()
    {
        var ops = new (string Name, Func<Layer> Make)[] { ("add", () => new Add()), ("sub", () => new Sub()), ("mul", () => new Mul()), ("div", () => new Div()) };
        foreach (var (name, make) in ops)
        {
            yield return new TestCaseData(make(), new Shape(3, 5, 7), new Shape(3, 5, 7)).SetArgDisplayNames($"{name}_same_shape");
            // 40 output elements per element of b: one invocation sums them.
            yield return new TestCaseData(make(), new Shape(2, 3, 4, 5), new Shape(1, 3, 1, 1)).SetArgDisplayNames($"{name}_broadcast_channels");
            // 512 per element of b, and a broadcast along a's leading dimension: a workgroup sums them.
            yield return new TestCaseData(make(), new Shape(1, 16, 32), new Shape(3, 1, 1)).SetArgDisplayNames($"{name}_broadcast_both_sides");
        }
    }

    /// <summary>
    /// A broadcast operand's gradient over a long reduction (10000 elements for each of b's): split over workgroups, its
    /// ordered sum written into b's f16 gradient by reduce/partials' f16 build.
    /// </summary>
    [Test]
    public void Binary_LongReduction_SumsIntoTheF16Gradient()
    {
        var kernels = F16StorageCheck.Matches(Context, new Mul(), new[] { new Shape(1, 2, 100, 100), new Shape(1, 2, 1, 1) });
        Assert.That(kernels, Has.Some.EqualTo("binary/binary.bcast.bwd.split.f16").And.Some.EqualTo("reduce/partials.f16"), string.Join(", ", kernels));
    }

    /// <summary>The divisor away from 0 (its gradient divides by b twice).</summary>
    [TestCaseSource(nameof(Binaries))]
    public void Binary_MatchesF32(Layer layer, Shape a, Shape b) =>
        F16StorageCheck.Matches(Context, layer, new[] { a, b }, input: i => i == 1 && layer is Div ? Uniform(b.Elements, 31, 0.5, 2) : Uniform(i == 0 ? a.Elements : b.Elements, 32 + i, -1, 1));

    [TestCase(3, 5, 7)]
    [TestCase(1, 1, 1001)]
    public void Clip_MatchesF32(int a, int b, int c) =>
        F16StorageCheck.Matches(Context, new Clip(-0.3f, 0.7f), new[] { new Shape(a, b, c) });

    [TestCase(3, 5, 7)]
    [TestCase(2, 3, 33)]
    public void Dropout_MatchesF32(int a, int b, int c) =>
        F16StorageCheck.Matches(Context, new Dropout(0.3f), new[] { new Shape(a, b, c) });

    [TestCase(3, 5, 7)]
    [TestCase(1, 1, 1027)]
    public void Gelu_MatchesF32(int a, int b, int c) =>
        F16StorageCheck.Matches(Context, new Gelu(), new[] { new Shape(a, b, c) }, input: _ => Uniform(a * b * c, 41, -4, 4));

    /// <summary>
    /// A small network of these layers only (no convolution or linear layer: their f16 kernels are other work): max
    /// pooling, bilinear upsampling, the skip concat, batch norm, GELU, a squeeze-style broadcast product with the global
    /// average, padding, average pooling, dropout, clip and a masked MSE loss, trained on random data.
    /// </summary>
    static (Network Net, Dictionary<string, Shape> Shapes, Dictionary<string, float[]> Data) SmallNetwork()
    {
        var net = new Network();
        Node x = net.Input("x"), target = net.Input("target"), mask = net.Input("mask");
        var pooled = net.Add(new MaxPool2d(2), "pool", x);
        var up = net.Add(new Upsample(2, UpsampleMode.Bilinear), "up", pooled);
        var joined = net.Add(new Concat(), "skip", x, up);
        var norm = net.Add(new BatchNorm2d(6), "bn", joined);
        var act = net.Add(new Gelu(), "gelu", norm);
        var mean = net.Add(new GlobalAvgPool2d(), "gap", act);
        var scaled = net.Add(new Mul(), "scale", act, mean);
        var padded = net.Add(new Pad(1, 1, 1, 1, PadMode.Replicate), "pad", scaled);
        var smooth = net.Add(new AvgPool2d(3, 1), "avg", padded);
        var dropped = net.Add(new Dropout(0.2f), "drop", smooth);
        var y = net.Add(new Clip(-3f, 3f), "clip", dropped);
        net.Output(y, "y");
        net.SetLoss(new MaskedMseLoss(), y, target, mask);
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 8, 8), ["target"] = new(2, 6, 8, 8), ["mask"] = new(2, 1, 8, 8) };
        var data = new Dictionary<string, float[]>
        {
            ["x"] = Distinct(shapes["x"].Elements, 51),
            ["target"] = Uniform(shapes["target"].Elements, 52, -0.5, 0.5),
            ["mask"] = RandomData.Mask((int)shapes["mask"].Elements, 53, 0.8).Select(v => (float)v).ToArray(),
        };
        return (net, shapes, data);
    }

    static readonly string[] OwnKernelFamilies = { "pool/", "upsample/", "concat/", "batchnorm/", "gelu/", "global_pool/", "binary/", "pad/", "dropout/", "clip/", "loss/" };
    /// <summary>Kernels of those families that touch no activation, only f32 statistics and parameter gradients: no f16 variant.</summary>
    static readonly string[] StatisticsOnly = { "batchnorm/batchnorm.finish", "batchnorm/batchnorm.bwd_finish" };

    [Test]
    public void SmallNetwork_OneStep_MatchesF32_AndRunsF16Kernels()
    {
        (float Loss, float[] GradX, Dictionary<string, float[]> Grads, string[] Kernels) Step(Precision precision)
        {
            var (net, shapes, data) = SmallNetwork();
            using var compiled = net.Compile(Context, new CompileOptions
            {
                InputShapes = shapes, Training = true, InputGradients = true, LearningRate = 0f, Precision = precision,
                // The same fixed scale in both runs, so the (scaled) gradients compare directly.
                LossScaling = new LossScaling { Initial = 1024f, GrowthInterval = 0 },
            });
            foreach (var (name, values) in data) compiled.SetInput(name, values);
            compiled.Run();
            return (compiled.GetOutput("loss")[0], compiled.InputGradients["x"].ToArray(),
                compiled.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray());
        }
        var f32 = Step(Precision.Fp32);
        var f16 = Step(Precision.Fp16);
        var own = f16.Kernels.Where(k => OwnKernelFamilies.Any(k.StartsWith)).ToArray();
        Assert.That(own.Select(k => k[..k.IndexOf('/')]).Distinct().Count(), Is.EqualTo(OwnKernelFamilies.Length), "every family ran: " + string.Join(", ", own));
        Assert.That(own.Except(StatisticsOnly), Has.All.EndsWith(".f16"), "every kernel of these layers ran its f16-storage variant");
        Assert.That(own.Intersect(StatisticsOnly), Is.EquivalentTo(StatisticsOnly), "batch norm's statistics passes ran");
        F16StorageCheck.Close(new[] { f16.Loss }, new[] { f32.Loss }, Tolerances.F16Storage, "loss");
        F16StorageCheck.Close(f16.GradX, f32.GradX, Tolerances.F16Storage, "gradient of x");
        Assert.That(f32.Grads.Keys, Is.EquivalentTo(new[] { "bn.weight", "bn.bias" }));
        foreach (var (name, g) in f32.Grads) F16StorageCheck.Close(f16.Grads[name], g, Tolerances.F16Storage, $"gradient of {name}");
    }

    /// <summary>
    /// Adam steps under Fp16 (with its default dynamic loss scaling from 2^16) lower the loss as they do under Fp32,
    /// along nearly the same path: no step overflows and is skipped.
    /// </summary>
    [Test]
    public void SmallNetwork_TrainsUnderFp16()
    {
        float[] Losses(Precision precision)
        {
            var (net, shapes, data) = SmallNetwork();
            using var compiled = net.Compile(Context, new CompileOptions
            {
                InputShapes = shapes, Training = true, LearningRate = 0.05f, Optimizer = new Adam(), Precision = precision,
            });
            foreach (var (name, values) in data) compiled.SetInput(name, values);
            var losses = new float[TrainingSteps];
            for (int i = 0; i < TrainingSteps; i++)
            {
                compiled.Run();
                losses[i] = compiled.GetOutput("loss")[0];
            }
            Assert.That(compiled.StepCount, Is.EqualTo((uint)TrainingSteps), $"{precision}: every step updated (none overflowed and was skipped)");
            return losses;
        }
        var f32 = Losses(Precision.Fp32);
        var f16 = Losses(Precision.Fp16);
        TestContext.Out.WriteLine($"loss f32 {string.Join(" ", f32.Select(v => v.ToString("G7")))}");
        TestContext.Out.WriteLine($"loss f16 {string.Join(" ", f16.Select(v => v.ToString("G7")))}");
        Assert.That(f16[^1], Is.LessThan(0.9f * f16[0]), "training under Fp16 lowers the loss");
        F16StorageCheck.Close(f16, f32, Tolerances.F16Storage, "losses along the training path");
    }

    const int TrainingSteps = 20;
}
