using Kiln.Models;
using Kiln.Tests.Reference;
using Kiln.Tests.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Acceptance;

/// <summary>
/// The denoiser UNet as a game engine runs it: compiled once on the host's adopted device, recorded into the
/// host's command buffer every frame with two frames in flight, synchronization validation on throughout.
/// </summary>
public sealed class DenoiserOnHostFramesTests
{
    const int Frames = 5, Height = 16, Width = 32;

    [Test]
    public void TwoFramesInFlight_MatchTheCpuReference_WithValidationSilent()
    {
        var host = new HostApp(frames: 2);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                var net = DenoiseUNet.Build();
                var shape = new Shape(1, DenoiseUNet.InputChannels, Height, Width);
                using var compiled = net.Compile(ctx, new CompileOptions
                {
                    InputShapes = new Dictionary<string, Shape> { ["x"] = shape },
                    InputBuffers = 2,
                    Seed = 7,
                });
                var outputs = new[] { new Tensor(ctx, compiled.Outputs["y"].Shape, name: "frame 0 result"), new Tensor(ctx, compiled.Outputs["y"].Shape, name: "frame 1 result") };
                var frames = new HostCommandBuffer?[2];
                var inputs = Enumerable.Range(0, Frames).Select(k => RandomData.Uniform((int)shape.Elements, 100 + k, -1, 1)).ToArray();
                var expected = inputs.Select(x => Reference(net, compiled, x, shape)).ToArray();

                for (int k = 0; k < Frames + 2; k++)
                {
                    int f = k % 2;
                    if (k >= 2)
                    {
                        // The host waits for the frame it is about to reuse, tells Kiln, and reads its result.
                        host.Wait(f);
                        frames[f]!.Completed();
                        var got = outputs[f].ToArray();
                        Assert.That(RelativeError.MaxRelative(got, expected[k - 2]), Is.LessThan(Tolerances.Forward), $"frame {k - 2}");
                    }
                    if (k >= Frames) continue;
                    compiled.InputsOf(f)["x"].Upload(inputs[k].Select(v => (float)v).ToArray());
                    host.Begin(f);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[f].Handle);
                    compiled.Record(frame, slot: f);
                    // Copy the result out, as a host copies it into its own image.
                    frame.Recorder.Barrier(Kiln.Vulkan.BarrierKind.ComputeToTransfer);
                    frame.Recorder.Copy(compiled.Outputs["y"].Storage, outputs[f].Storage, (ulong)compiled.Outputs["y"].SizeInBytes);
                    frame.Submitted();
                    host.EndAndSubmit(f);
                    frames[f] = frame;
                }
                foreach (var o in outputs) o.Dispose();
                compiled.Dispose();
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
                Assert.That(ctx.LiveObjects(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.Messages, Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports anything Kiln left behind");
    }

    static double[] Reference(Network net, CompiledNetwork compiled, double[] x, Shape shape)
    {
        var parameters = compiled.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray().Select(v => (double)v).ToArray());
        var xf = x.Select(v => (double)(float)v).ToArray();
        var result = ReferenceNetwork.Forward(net, new Dictionary<string, (double[], int[])> { ["x"] = (xf, shape.ToArray()) }, n => parameters[n]);
        return result["y"].Data;
    }
}
