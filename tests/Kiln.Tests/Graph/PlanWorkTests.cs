using Kiln.Cli.Bench;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The work each planned dispatch records for `kiln bench --kernels`' roofline (<see cref="PlannedDispatch.Flops"/>,
/// <see cref="PlannedDispatch.Bytes"/>): the convolutions' and products' arithmetic, counted from the layers' shapes here,
/// on the compute dispatches and nowhere else, through fusion and whatever kernel the device runs; and the bytes of the
/// values each pass binds.
/// </summary>
public sealed class PlanWorkTests : GpuTest
{
    /// <summary>
    /// A training step of a conv, a strided conv and a linear layer: each layer's forward, weight gradient and (but the
    /// first's) input gradient carry its multiply-adds twice, the passes between them (activations, packing, losses,
    /// updates, partial sums) none.
    /// </summary>
    [TestCase(Precision.Fp32)]
    [TestCase(Precision.Fp16)]
    public void TrainingStep_EachProductCarriesItsLayersArithmetic(Precision precision)
    {
        const int n = 2;
        var net = new Sequential(new Conv2d(3, 8, 3, padding: 1), new ReLU(), new Conv2d(8, 4, 3, stride: 2, padding: 1), new Flatten(),
            new Linear(4 * 8 * 8, 5)).WithLoss(new MseLoss());
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, 3, 16, 16), ["target"] = new Shape(n, 5) },
            Training = true, Precision = precision,
        });
        double conv0 = 2.0 * 3 * 9 * (n * 8 * 16 * 16), conv1 = 2.0 * 8 * 9 * (n * 4 * 8 * 8), linear = 2.0 * 256 * 5 * n;
        var expected = new Dictionary<string, double>
        {
            ["conv2d_0.fwd"] = conv0, ["conv2d_0.bwd_weight"] = conv0,
            ["conv2d_1.fwd"] = conv1, ["conv2d_1.bwd_weight"] = conv1, ["conv2d_1.bwd_input"] = conv1,
            ["linear_0.fwd"] = linear, ["linear_0.bwd_weight"] = linear, ["linear_0.bwd_input"] = linear,
        };
        var byLabel = c.Plan.Dispatches.Where(d => d.Flops > 0).GroupBy(d => d.Label).ToDictionary(g => g.Key, g => g.Sum(d => d.Flops));
        Assert.That(byLabel, Is.EquivalentTo(expected), string.Join(", ", c.Plan.Dispatches.Select(d => $"{d.Label} {d.Kernel} {d.Flops}")));
        Assert.That(c.Plan.Dispatches.Where(d => d.Kernel.StartsWith("optim/") || d.Kernel.StartsWith("elementwise/")), Has.All.Matches<PlannedDispatch>(d => d.Flops == 0));
    }

    /// <summary>
    /// The denoiser's inference with its fusions (each conv + pool in one dispatch, each upsample + concat read by the
    /// conv after it; storage-buffer reads, which those variants take) carries exactly the arithmetic `kiln bench` counts
    /// for the network (<see cref="FlopCounter"/>); row bands, which recompute their halos, are off.
    /// </summary>
    [Test]
    public void FusedDenoiser_CarriesTheNetworksArithmetic()
    {
        var net = DenoiseUNet.Build();
        var inputs = new Dictionary<string, Shape> { ["x"] = new Shape(1, DenoiseUNet.InputChannels, 32, 48) };
        using var c = net.Compile(Context, new CompileOptions { InputShapes = inputs, RowBands = 0, TexelReads = false });
        Assert.That(c.Plan.Dispatches.Select(d => d.Kernel), Has.Some.Contains(".pool").And.Some.Contains(".concat"), "the fusions ran");
        Assert.That(c.Plan.Dispatches.Sum(d => d.Flops), Is.EqualTo(FlopCounter.Forward(net, inputs)).Within(1e-9).Percent);
    }

    /// <summary>A pass that reads and writes each element once is charged both; a value read and written (Adam's state) twice.</summary>
    [Test]
    public void Bytes_AreTheBoundValuesOncePerDirection()
    {
        const int features = 7, batch = 3;
        var net = new Sequential(new Linear(5, features), new Sigmoid()).WithLoss(new MseLoss());
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, 5), ["target"] = new Shape(batch, features) },
            Training = true, Optimizer = new Adam(), Fuse = false,
        });
        var sigmoid = c.Plan.Dispatches.Single(d => d.Label == "sigmoid_0.fwd");
        Assert.That(sigmoid.Bytes, Is.EqualTo(2L * 4 * batch * features), "x read, y written");
        // Adam: g read; w, m and v read and written (the step state is not a value).
        var adam = c.Plan.Dispatches.Single(d => d.Label == "linear_0.weight.adam");
        Assert.That(adam.Bytes, Is.EqualTo(7L * 4 * 5 * features));
    }

    /// <summary>
    /// A copy into or out of a concatenation's channel slice, and an upsample fused into the concatenation, move their
    /// slice, not the whole concatenation they bind: they declare it.
    /// </summary>
    [Test]
    public void Bytes_OfCopiesAndUpsamplesIntoAConcat_AreTheirSlices()
    {
        var net = new Network();
        var up = net.Add(new Upsample(2), "up", net.Input("a"));
        var cat = net.Add(new Concat(), "cat", up, net.Input("b"));
        net.Output(net.Add(new Conv2d(5, 2, 1), "conv", cat), "y");
        var shapes = new Dictionary<string, Shape> { ["a"] = new Shape(1, 2, 3, 4), ["b"] = new Shape(1, 3, 6, 8) };
        using var fused = net.Compile(Context, new CompileOptions { InputShapes = shapes, TexelReads = true });
        var upsample = fused.Plan.Dispatches.Single(d => d.Kernel.StartsWith("upsample/"));
        Assert.That(upsample.Bytes, Is.EqualTo(4L * (24 + 96)), "a read, its upsampled 96 elements written into the concatenation");
        var copy = fused.Plan.Dispatches.Single(d => d.Kernel.StartsWith("concat/"));
        Assert.That(copy.Bytes, Is.EqualTo(2L * 4 * 144), "b's 144 elements read and written");
    }

    /// <summary>
    /// The fused MLP (one forward dispatch, one backward and its ordered sum): the forward carries every layer's products,
    /// the backward the weight gradients' and the input gradients' but the first layer's (no gradient of x is asked).
    /// </summary>
    [Test]
    public void FusedMlp_CarriesItsLayersArithmetic()
    {
        const int n = 256;
        var net = new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 8), new Tanh(), new Linear(8, 1)).WithLoss(new MseLoss());
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(n, 2), ["target"] = new Shape(n, 1) }, Training = true, FuseMlp = true,
        });
        Assert.That(c.Plan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("mlp/"), "the MLP is fused");
        double products = n * (2 * 8 + 8 * 8 + 8 * 1);
        var flops = c.Plan.Dispatches.Where(d => d.Flops > 0).ToDictionary(d => d.Label, d => d.Flops);
        Assert.That(flops, Is.EquivalentTo(new Dictionary<string, double>
        {
            ["linear_2.fwd"] = 2 * products,
            ["linear_2.bwd"] = 2 * (products + products - n * 2 * 8),
        }));
    }
}
