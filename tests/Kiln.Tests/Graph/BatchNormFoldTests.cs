using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// In inference plans a BatchNorm2d after a Conv2d whose output it alone reads is folded into the convolution's weight
/// and bias (BatchNorm2d.EmitFold, shaders/batchnorm/batchnorm.fold.comp), and a ReLU after it into the same kernel; the
/// convolution's other fusions (a following pool, row bands) still apply. The
/// output matches the unfused plan's (Fuse = false: convolution, batch norm, activation each on their own) within f32
/// rounding (1e-5 relative: the fold reassociates (conv - mean) s + beta), or f16 storage's tolerance; the parameters keep
/// the unfused network's names.
/// </summary>
public sealed class BatchNormFoldTests : GpuTest
{
    /// <summary>x -> conv (with or without bias) -> batch norm -> ReLU -> conv; the batch norm's statistics random.</summary>
    static Network Build(bool bias)
    {
        var net = new Network();
        var conv = net.Add(new Conv2d(3, 8, 3, padding: 1, bias: bias), "conv", net.Input("x"));
        var norm = net.Add(new BatchNorm2d(8), "bn", conv);
        net.Output(net.Add(new Conv2d(8, 2, 1), "head", net.Add(new ReLU(), "relu", norm)), "y");
        return net;
    }

    static (float[] Y, CompiledNetwork Compiled) Run(Network net, bool fuse, Precision precision = Precision.Fp32, TensorLayout? layout = TensorLayout.Nchw,
        Shape? input = null, int? rowBands = 0, bool? texelReads = null)
    {
        var shape = input ?? new Shape(2, 3, 7, 9);
        var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = shape }, Fuse = fuse, Precision = precision, ActivationLayout = layout,
            RowBands = rowBands, TexelReads = texelReads,
        });
        int seed = 11;
        c.SetInput("x", RandomData.Uniform((int)shape.Elements, seed++).Select(v => (float)v).ToArray());
        foreach (var (name, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            // Variances positive and away from 0; the rest around 0.
            var (lo, hi) = name.EndsWith("running_var") ? (0.5, 2.0) : (-0.8, 0.8);
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, lo, hi).Select(v => (float)v).ToArray());
        }
        c.Run();
        return (c.GetOutput("y"), c);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ConvBatchNormReLU_IsOneConvolution_MatchingTheUnfusedPlan(bool bias)
    {
        var (folded, fc) = Run(Build(bias), true);
        var (plain, pc) = Run(Build(bias), false);
        using (fc)
        using (pc)
        {
            var kernels = fc.Plan.Dispatches.Select(d => d.Kernel).ToList();
            Assert.That(kernels, Has.Some.EqualTo("batchnorm/batchnorm.fold"));
            Assert.That(kernels, Has.None.StartsWith("batchnorm/batchnorm.apply").And.None.StartsWith("elementwise/unary"), "batch norm and ReLU are in the conv");
            Assert.That(fc.Parameters.Keys, Is.EqualTo(pc.Parameters.Keys), "the parameters keep their layers' names and order");
            Assert.That(RelativeError.MaxRelative(folded, plain.Select(v => (double)v).ToArray()), Is.LessThan(1e-5));
        }
    }

    [Test]
    public void Fp16_AndChannelsLast_MatchTheUnfusedPlan()
    {
        var (plain, pc) = Run(Build(true), false);
        var (half, hc) = Run(Build(true), true, Precision.Fp16);
        var (nhwc, nc) = Run(Build(true), true, Precision.Fp32, TensorLayout.Nhwc);
        var (nchw, cc) = Run(Build(true), true);
        using (pc) using (hc) using (nc) using (cc)
        {
            F16StorageCheck.Close(half, plain, Tolerances.F16Storage, "y at fp16");
            Assert.That(nc.Plan.Dispatches.Select(d => d.Kernel), Has.Some.Contains(".nhwc"));
            Assert.That(nhwc, Is.EqualTo(nchw), "NHWC is the NCHW plan bit for bit");
        }
    }

    /// <summary>Not folded where the conv's output has another reader or is a named output, nor in a training plan (batch statistics).</summary>
    [Test]
    public void NotFolded_WhereTheConvOutputIsNeededOrInTraining()
    {
        var shapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 3, 5, 5) };
        var shared = new Network();
        var conv = shared.Add(new Conv2d(3, 4, 3, padding: 1), "conv", shared.Input("x"));
        shared.Output(shared.Add(new Add(), "sum", shared.Add(new BatchNorm2d(4), "bn", conv), conv), "y");
        Assert.That(shared.Plan(Context.Info, new CompileOptions { InputShapes = shapes }).Dispatches.Select(d => d.Kernel),
            Has.Some.StartsWith("batchnorm/batchnorm.apply"), "conv read twice");

        var named = new Network();
        var c2 = named.Add(new Conv2d(3, 4, 3, padding: 1), "conv", named.Input("x"));
        named.Output(c2, "features");
        named.Output(named.Add(new BatchNorm2d(4), "bn", c2), "y");
        Assert.That(named.Plan(Context.Info, new CompileOptions { InputShapes = shapes }).Dispatches.Select(d => d.Kernel),
            Has.Some.StartsWith("batchnorm/batchnorm.apply"), "conv output named");

        var train = Build(true);
        train.SetLoss(new MseLoss(), train.Outputs.Single(o => o.Name == "y").Node, train.Input("target"));
        var trainPlan = train.Plan(Context.Info, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 3, 7, 9), ["target"] = new Shape(2, 2, 7, 9) }, Training = true,
        });
        Assert.That(trainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("batchnorm/batchnorm.stats").And.None.EqualTo("batchnorm/batchnorm.fold"));
    }

    /// <summary>
    /// The folded convolution is still a convolution to the other fusions: conv, batch norm, ReLU and a 2x2 max pool run
    /// as one pooling convolution (its .pool variant, with storage-buffer reads); two conv + batch norm + ReLU blocks at
    /// full size run in row bands. Both against the unfused plan.
    /// </summary>
    [Test]
    public void FoldedConvolutions_StillFuseWithAPoolAndInRowBands()
    {
        var pooled = new Network();
        Node Block(Network net, Node x, int cin, int cout, string name) =>
            net.Add(new ReLU(), $"{name}_relu", net.Add(new BatchNorm2d(cout), $"{name}_bn", net.Add(new Conv2d(cin, cout, 3, padding: 1), name, x)));
        pooled.Output(pooled.Add(new MaxPool2d(2), "pool", Block(pooled, pooled.Input("x"), 3, 8, "conv")), "y");
        var input = new Shape(1, 3, 8, 12);
        var (fusedPool, fp) = Run(pooled, true, input: input, texelReads: false);
        var (plainPool, pp) = Run(pooled, false, input: input, texelReads: false);
        using (fp) using (pp)
        {
            Assert.That(fp.Plan.Dispatches.Select(d => d.Kernel), Has.Some.EqualTo("conv2d/conv2d.fwd.pool").And.None.StartsWith("pool/"), "conv, batch norm, ReLU and pool in one kernel");
            Assert.That(fp.Parameters.Keys, Is.EqualTo(pp.Parameters.Keys), "the fused layer's parameters are the folded ones, in order");
            Assert.That(RelativeError.MaxRelative(fusedPool, plainPool.Select(v => (double)v).ToArray()), Is.LessThan(1e-5));
        }

        var banded = new Network();
        banded.Output(Block(banded, Block(banded, banded.Input("x"), 3, 8, "conv1"), 8, 4, "conv2"), "y");
        var (fusedBands, fb) = Run(banded, true, input: new Shape(1, 3, 16, 10), rowBands: 2);
        var (plainBands, pb) = Run(banded, false, input: new Shape(1, 3, 16, 10));
        using (fb) using (pb)
        {
            Assert.That(fb.Plan.Dispatches.Select(d => d.Label), Has.Some.Contains(".band1."), "the pair runs in row bands");
            Assert.That(fb.Plan.Dispatches.Count(d => d.Kernel == "batchnorm/batchnorm.fold"), Is.EqualTo(2));
            Assert.That(fb.Parameters.Keys, Is.EqualTo(pb.Parameters.Keys));
            Assert.That(RelativeError.MaxRelative(fusedBands, plainBands.Select(v => (double)v).ToArray()), Is.LessThan(1e-5));
        }
    }

    /// <summary>A batch norm that is itself a named output is computed as written (its value is asked for before the ReLU).</summary>
    [Test]
    public void NamedBatchNorm_IsNotFolded()
    {
        var net = new Network();
        var norm = net.Add(new BatchNorm2d(4), "bn", net.Add(new Conv2d(3, 4, 3, padding: 1), "conv", net.Input("x")));
        net.Output(norm, "normalised");
        net.Output(net.Add(new ReLU(), "relu", norm), "y");
        var plan = net.Plan(Context.Info, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, 3, 5, 5) } });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("batchnorm/batchnorm.apply").And.None.EqualTo("batchnorm/batchnorm.fold"));
    }
}
