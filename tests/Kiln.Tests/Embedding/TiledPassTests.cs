using Kiln.Embedding;
using Kiln.Models;
using Kiln.Tests.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>Tiled inference against the same network run whole on the GPU, and the receptive fields it relies on.</summary>
public sealed class TiledPassTests
{
    [Test]
    public void ReceptiveFields_OfTheModels_AreTheHandDerivedOnes_AndGlobalLayersAreRefused()
    {
        // InpaintUNet(4, 8): two 3x3 convs (r 2), pool (s 2), two 3x3 convs at s 2 (r 6), nearest up to s 1 (+1: r 7),
        // concat with the skip (r 2), two 3x3 convs (r 9), a 1x1 conv and a sigmoid (r 9).
        Assert.That(ReceptiveField.Of(InpaintUNet.Build(4, 8)), Is.EqualTo(new ReceptiveField(9, 2)));
        // DenoiseUNet: 2 convs (2), pool, conv at 2 (4), pool, conv at 4 (8), pool, conv at 8 (16), pool, 2 convs at 16
        // (48), up to 8 (56), conv x2 at 8 (72), up to 4 (76), 2 convs (84), up to 2 (86), 2 convs (90), up to 1 (91), 3 convs (94).
        Assert.That(ReceptiveField.Of(DenoiseUNet.Build()), Is.EqualTo(new ReceptiveField(94, 16)));
        var net = new Network();
        net.Output(net.Add(new GlobalAvgPool2d(), net.Input("x")), "y");
        var e = Assert.Throws<NotSupportedException>(() => ReceptiveField.Of(net));
        Assert.That(e!.Message, Does.Contain("GlobalAvgPool2d").Or.Contain("global"));
    }

    [Test]
    public void TwelveOverlappingTiles_GiveTheUntiledOutput()
    {
        const int W = 44, H = 34, Tile = 32;
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                var color = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                var mask = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                var whole = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                var tiled = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float);
                try
                {
                    ImageInteropTests.Fill(color, 1);
                    ImageInteropTests.Fill(mask, 2);
                    using var pass = PostProcessPass.Inpaint(ctx, W, H, seed: 11, channels: new[] { 4, 8 });
                    using var tiles = new TiledPass(ctx, InpaintUNet.Build(4, 8), new[] { 3, 1 }, Tile, pass.Network);
                    var layout = tiles.Tiles(W, H);
                    Assert.That(layout, Has.Count.EqualTo(12));
                    Assert.That(layout.Sum(t => t.CoreW * t.CoreH), Is.EqualTo(W * H), "the kept parts cover the image once");
                    Assert.Throws<ArgumentException>(() => tiles.Tiles(30, 40), "narrower than a tile");
                    Assert.Throws<ArgumentOutOfRangeException>(() => new TiledPass(ctx, InpaintUNet.Build(4, 8), new[] { 3, 1 }, 20));

                    host.Begin(0);
                    var cmd = host.Commands[0];
                    color.RecordUpload(cmd);
                    mask.RecordUpload(cmd);
                    whole.RecordToGeneral(cmd);
                    tiled.RecordToGeneral(cmd);
                    var frame = ctx.WrapHostCommandBuffer(cmd.Handle);
                    pass.Record(frame, new[] { color.Kiln, mask.Kiln }, whole.Kiln);
                    tiles.Record(frame, new[] { color.Kiln, mask.Kiln }, tiled.Kiln);
                    frame.Submitted();
                    whole.RecordReadback(cmd);
                    tiled.RecordReadback(cmd);
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();

                    var expected = ImageInteropTests.Read(whole);
                    var got = ImageInteropTests.Read(tiled);
                    Assert.That(expected.Distinct().Count(), Is.GreaterThan(W * H), "the untiled output is not constant");
                    // The same kernels on the same values: every kept pixel is bit-identical to the untiled one.
                    Assert.That(got, Is.EqualTo(expected));
                }
                finally { color.Dispose(); mask.Dispose(); whole.Dispose(); tiled.Dispose(); }
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
