using System.Text.Json.Nodes;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The transposed convolution's gather (ConvKernels.Gather: ConvTranspose2d's forward, a strided Conv2d's input gradient)
/// under CompileOptions.Autotune: from 2^24 multiply-adds its channel and column blocks are timed, each candidate checked
/// against the untuned blocks' result, and the tuned output is the untuned one bit for bit (a block changes which
/// invocation computes an output, not the order of its sum). Smaller ones are not timed.
/// </summary>
public sealed class GatherAutotuneTests
{
    static (float[] Y, int Timed, int Rejected, string Choices) Run(int batch, bool autotune)
    {
        var net = new Network();
        net.Output(net.Add(new ConvTranspose2d(16, 8, 4, stride: 2, padding: 1), "up", net.Input("x")), "y");
        var shape = new Shape(batch, 16, 32, 32);
        var dir = Path.Combine(Path.GetTempPath(), "kiln-gather-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var c = net.Compile(ctx, CompileOptions.For("x", shape) with { Autotune = autotune });
            c.SetInput("x", RandomData.Uniform((int)shape.Elements, 4).Select(v => (float)v - 0.5f).ToArray());
            c.Run();
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            var file = ctx.Tuner.FilePath!;
            string choices = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file))!["choices"]!.ToJsonString() : "";
            return (c.GetOutput("y"), ctx.Tuner.Timed, ctx.Tuner.Rejected, choices);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void BlocksAreTimed_AndTheOutputIsTheUntunedOne()
    {
        // 8 x 16 x 32 x 32 inputs x 8 channels x 16 taps = 2^24 multiply-adds.
        var untuned = Run(8, false);
        var tuned = Run(8, true);
        Assert.That(tuned.Choices, Does.Contain("conv_transpose2d.gather|"));
        Assert.That(tuned.Rejected, Is.Zero, "every block agrees with the untuned one");
        Assert.That(tuned.Y, Is.EqualTo(untuned.Y), "bit for bit");
        Assert.That(Run(4, true).Choices, Does.Not.Contain("conv_transpose2d.gather|"), "half the work: not timed");
    }
}
