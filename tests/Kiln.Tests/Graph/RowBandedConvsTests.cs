using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// Pairs of convolutions computed in row bands (<see cref="RowBandedConvs"/>, CompileOptions.RowBands): the inference
/// output is the unbanded plan's bit for bit (the same kernels, the same sums per pixel) for bands that divide the rows
/// and that don't, the last window shifted inward, 3x3 and 5x3 kernels, dilation, a 1x1 second layer, folded
/// activations, a batch of two; and the pass leaves alone what it must (a named or shared first output, a strided layer,
/// images no taller than a window, training plans).
/// </summary>
public sealed class RowBandedConvsTests : GpuTest
{
    static Network Pair(Conv2d first, Conv2d second, bool relu)
    {
        var net = new Network();
        var h = net.Add(first, "first", net.Input("x"));
        if (relu) h = net.Add(new ReLU(), "relu", h);
        var y = net.Add(second, "second", h);
        net.Output(net.Add(new Tanh(), "tanh", y), "y");
        return net;
    }

    static (float[] Output, string[] Labels) Run(Network net, Shape x, int? bands)
    {
        using var c = net.Compile(Context, CompileOptions.For("x", x) with { RowBands = bands });
        c.SetInput("x", RandomData.Uniform((int)x.Elements, 17).Select(v => (float)v).ToArray());
        c.Run();
        return (c.GetOutput("y"), c.Plan.Dispatches.Select(d => d.Label).ToArray());
    }

    static IEnumerable<TestCaseData> Pairs() => new[]
    {
        new TestCaseData(new Conv2d(8, 16, 3, padding: 1), new Conv2d(16, 8, 3, padding: 1), new Shape(1, 8, 37, 21), 4).SetArgDisplayNames("3x3_3x3_uneven_bands"),
        new TestCaseData(new Conv2d(6, 12, 3, padding: 1), new Conv2d(12, 5, 3, padding: 1), new Shape(2, 6, 40, 19), 5).SetArgDisplayNames("batch2_even_bands"),
        new TestCaseData(new Conv2d(4, 8, (5, 3), (1, 1), (2, 1), (1, 1)), new Conv2d(8, 4, 1), new Shape(1, 4, 33, 17), 3).SetArgDisplayNames("5x3_then_1x1"),
        new TestCaseData(new Conv2d(4, 8, 3, padding: 2, dilation: 2), new Conv2d(8, 8, 3, padding: 1, bias: false), new Shape(1, 4, 45, 14), 6).SetArgDisplayNames("dilated_no_bias"),
        new TestCaseData(new Conv2d(4, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1), new Shape(1, 4, 30, 9), 2).SetArgDisplayNames("two_bands"),
    };

    [TestCaseSource(nameof(Pairs))]
    public void Banded_IsTheUnbandedPlanBitForBit(Conv2d first, Conv2d second, Shape x, int bands)
    {
        var net = Pair(first, second, relu: true);
        var (plain, plainLabels) = Run(net, x, 0);
        var (banded, labels) = Run(net, x, bands);
        Assert.That(plainLabels, Has.None.Contains(".band"));
        Assert.That(labels, Has.Some.EqualTo($"second.band{bands - 1}.in").Or.Some.EqualTo($"tanh.band{bands - 1}.in"), string.Join(", ", labels));
        Assert.That(labels.Count(l => l.EndsWith(".out", StringComparison.Ordinal)), Is.EqualTo(bands), "one copy out per band");
        Assert.That(banded, Is.EqualTo(plain), "bit for bit");
    }

    /// <summary>Automatic banding (RowBands null) takes only pairs whose first output reaches CompileOptions.AutomaticRowBandBytes.</summary>
    [Test]
    public void Automatic_BandsOnlyLargeOutputs()
    {
        var net = Pair(new Conv2d(4, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1), relu: false);
        var small = net.Plan(Context.KernelDevice, CompileOptions.For("x", new Shape(1, 4, 64, 64)));
        Assert.That(small.Dispatches.Select(d => d.Label), Has.None.Contains(".band"));
        // 8 channels x 1024 x 2048 f32 = 64 MiB: banded, in 8 bands.
        var large = net.Plan(Context.KernelDevice, CompileOptions.For("x", new Shape(1, 4, 2048, 1024)));
        Assert.That(large.Dispatches.Count(d => d.Label.EndsWith(".out", StringComparison.Ordinal)), Is.EqualTo(8));
    }

    [Test]
    public void LeavesAlone_WhatItMustNot()
    {
        var x = new Shape(1, 4, 40, 12);
        string[] Labels(Network n, CompileOptions o) => n.Plan(Context.KernelDevice, o).Dispatches.Select(d => d.Label).ToArray();

        // The first output is a named output too.
        var named = new Network();
        var h = named.Add(new Conv2d(4, 8, 3, padding: 1), "first", named.Input("x"));
        named.Output(h, "h");
        named.Output(named.Add(new Conv2d(8, 4, 3, padding: 1), "second", h), "y");
        Assert.That(Labels(named, CompileOptions.For("x", x) with { RowBands = 4 }), Has.None.Contains(".band"), "named first output");

        // Two readers of the first output.
        var shared = new Network();
        h = shared.Add(new Conv2d(4, 8, 3, padding: 1), "first", shared.Input("x"));
        shared.Output(shared.Add(new Add(), "sum", shared.Add(new Conv2d(8, 8, 3, padding: 1), "second", h), h), "y");
        Assert.That(Labels(shared, CompileOptions.For("x", x) with { RowBands = 4 }), Has.None.Contains(".band"), "shared first output");

        // A strided second layer.
        var strided = Pair(new Conv2d(4, 8, 3, padding: 1), new Conv2d(8, 4, 3, stride: 2, padding: 1), relu: false);
        Assert.That(Labels(strided, CompileOptions.For("x", x) with { RowBands = 4 }), Has.None.Contains(".band"), "strided");

        // An image no taller than a band's window: 8 rows in 2 bands make windows of 4 + 2 x 2 halo rows, the whole image.
        var pair = Pair(new Conv2d(4, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1), relu: false);
        Assert.That(Labels(pair, CompileOptions.For("x", new Shape(1, 4, 8, 12)) with { RowBands = 2 }), Has.None.Contains(".band"), "window covers the image");

        // Training plans keep the full output (the backward pass reads it).
        var train = Pair(new Conv2d(4, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1), relu: false);
        train.SetLoss(new MseLoss(), train.Outputs[0].Node, train.Input("t"));
        var options = new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["t"] = new Shape(1, 4, 40, 12) }, Training = true, RowBands = 4 };
        Assert.That(Labels(train, options), Has.None.Contains(".band"), "training");
    }
}
