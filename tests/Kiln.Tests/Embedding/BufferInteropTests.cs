using System.Runtime.InteropServices;
using Kiln.Embedding;
using Kiln.Tests.Vulkan;
using NUnit.Framework;
using Silk.NET.Vulkan;

namespace Kiln.Tests.Embedding;

/// <summary>A host's VkBuffers into a network and its output back, on the GPU inside the host's frame.</summary>
public sealed class BufferInteropTests
{
    [Test]
    public unsafe void HostBufferThroughAConvNetworkIntoAnotherHostBuffer_MatchesTheCpuReference()
    {
        const int W = 8, H = 6;
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                // The staging buffers of two rgba32f images serve as the host's buffers: W*H*16 bytes = a [1, 4, H, W] f32 tensor.
                using var a = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                using var b = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                var input = ImageInteropTests.Fill(a, 5);
                var net = new Network();
                net.Output(net.Add(new Conv2d(4, 4, 3, padding: 1), net.Input("x")), "y");
                var shape = new Shape(1, 4, H, W);
                using (var compiled = net.Compile(ctx, CompileOptions.For("x", shape)))
                {
                    ulong bytes = (ulong)(W * H * 16);
                    host.Begin(0);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    Assert.Throws<ArgumentException>(() => BufferInterop.BufferToTensor(frame, new HostBuffer((nint)a.Staging.Handle, 0, bytes - 4), compiled.Inputs["x"]));
                    BufferInterop.BufferToTensor(frame, new HostBuffer((nint)a.Staging.Handle, 0, bytes), compiled.Inputs["x"]);
                    compiled.Record(frame);
                    BufferInterop.TensorToBuffer(frame, compiled.Outputs["y"], new HostBuffer((nint)b.Staging.Handle, 0, bytes));
                    frame.Submitted();
                    var toHost = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.MemoryWriteBit, DstAccessMask = AccessFlags.HostReadBit };
                    host.Vk.CmdPipelineBarrier(host.Commands[0], PipelineStageFlags.AllCommandsBit, PipelineStageFlags.HostBit, 0, 1, &toHost, 0, null, 0, null);
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();

                    var weights = compiled.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray().Select(v => (double)v).ToArray());
                    var expected = Acceptance.ReferenceNetwork.Forward(net,
                        new Dictionary<string, (double[], int[])> { ["x"] = (input.Select(v => (double)v).ToArray(), shape.ToArray()) }, n => weights[n])["y"].Data;
                    var got = MemoryMarshal.Cast<byte, float>(b.StagingBytes).ToArray();
                    Assert.That(Reference.RelativeError.MaxRelative(got, expected), Is.LessThan(Tolerances.Forward));
                }
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.Messages, Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }
}
