using System.Runtime.InteropServices;
using Kiln.Embedding;
using Kiln.Tests.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// Host images to network tensors and back on the GPU, recorded into the host's frame between the host's own
/// upload and readback, on the raw-Vulkan <see cref="HostApp"/> with synchronization validation on.
/// </summary>
public sealed class ImageInteropTests
{
    const int W = 20, H = 12;
    /// <summary>unorm8 -> float is b / 255 up to the conversion's rounding.</summary>
    const float UnormConversion = 1e-6f;

    static IEnumerable<HostImageFormat> Formats => Enum.GetValues<HostImageFormat>();

    [TestCaseSource(nameof(Formats))]
    public void ImageToTensorToImage_CopiesTheChannels_LeavesTheOthers_AndWritesAlphaOne(HostImageFormat format)
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                using (var src = new HostImageResources(host, W, H, format))
                using (var dst = new HostImageResources(host, W, H, format))
                using (var tensor = Tensor.From(ctx, new Shape(1, 5, H, W), Enumerable.Repeat(-7f, 5 * H * W).ToArray(), "x"))
                {
                    var expected = Fill(src, seed: (int)format);
                    host.Begin(0);
                    src.RecordUpload(host.Commands[0]);
                    dst.RecordToGeneral(host.Commands[0]);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    ImageInterop.ImageToTensor(frame, src.Kiln, tensor, firstChannel: 1, channels: 3);
                    ImageInterop.TensorToImage(frame, tensor, dst.Kiln, firstChannel: 1, channels: 3);
                    frame.Submitted();
                    dst.RecordReadback(host.Commands[0]);
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();

                    var t = tensor.ToArray();
                    for (int c = 0; c < 5; c++)
                        for (int p = 0; p < H * W; p++)
                        {
                            float want = c is >= 1 and <= 3 ? expected[p * 4 + c - 1] : -7f;
                            Assert.That(t[c * H * W + p], Is.EqualTo(want).Within(UnormConversion), $"tensor channel {c}, pixel {p}");
                        }
                    var got = Read(dst);
                    for (int p = 0; p < H * W; p++)
                        for (int k = 0; k < 4; k++)
                            Assert.That(got[p * 4 + k], Is.EqualTo(k < 3 ? expected[p * 4 + k] : 1f), $"image pixel {p}, channel {k}");
                }
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.Messages, Is.Empty, "validation while Kiln used the host's images");
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports anything Kiln left behind");
    }

    [Test]
    public void RegionForms_MoveOnlyTheRegion_AndBadRegionsThrowSayingWhere()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = GpuContext.Adopt(host.Handles, Gpu.Options);
            try
            {
                using (var src = new HostImageResources(host, W, H, HostImageFormat.Rgba32Float))
                using (var tensor = Tensor.From(ctx, new Shape(1, 4, 6, 7), new float[4 * 6 * 7], "tile"))
                {
                    var expected = Fill(src, seed: 9);
                    host.Begin(0);
                    src.RecordUpload(host.Commands[0]);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    // 5x4 pixels at image (13, 8) -> tensor (2, 1), all four channels.
                    ImageInterop.ImageToTensor(frame, src.Kiln, 13, 8, tensor, 2, 1, 5, 4, 0, 4);
                    var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ImageInterop.ImageToTensor(frame, src.Kiln, 16, 8, tensor, 2, 1, 5, 4, 0, 4));
                    Assert.That(e1!.Message, Does.Contain("image pixel (16, 8)").And.Contain("20x12"));
                    var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => ImageInterop.ImageToTensor(frame, src.Kiln, 0, 0, tensor, 3, 0, 5, 4, 0, 4));
                    Assert.That(e2!.Message, Does.Contain("tensor pixel (3, 0)").And.Contain("(tile)"));
                    Assert.Throws<ArgumentOutOfRangeException>(() => ImageInterop.ImageToTensor(frame, src.Kiln, 0, 0, tensor, 0, 0, 5, 4, 2, 3), "channels 2..5 of 4");
                    Assert.Throws<ArgumentException>(() => ImageInterop.ImageToTensor(frame, src.Kiln, tensor), "a 7x6 tensor for a 20x12 image");
                    Assert.Throws<ArgumentException>(() => ImageInterop.ImageToTensor(frame, src.Kiln with { View = 0 }, 0, 0, tensor, 0, 0, 1, 1));
                    frame.Submitted();
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();

                    var t = tensor.ToArray();
                    for (int c = 0; c < 4; c++)
                        for (int y = 0; y < 6; y++)
                            for (int x = 0; x < 7; x++)
                            {
                                bool inside = x >= 2 && x < 7 && y >= 1 && y < 5;
                                float want = inside ? expected[((8 + y - 1) * W + 13 + x - 2) * 4 + c] : 0f;
                                Assert.That(t[(c * 6 + y) * 7 + x], Is.EqualTo(want), $"channel {c} at ({x}, {y})");
                            }
                }
                Assert.That(ctx.LiveObjects(), Is.Empty);
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty);
    }

    /// <summary>Writes random pixels into the image's staging buffer; returns them as floats (rgba per pixel) as the GPU reads them.</summary>
    internal static float[] Fill(HostImageResources image, int seed)
    {
        var rng = new Random(seed);
        int n = image.Width * image.Height * 4;
        var values = new float[n];
        var bytes = image.StagingBytes;
        switch (image.Format)
        {
            case HostImageFormat.Rgba32Float:
                for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 4 - 2);
                values.AsSpan().CopyTo(MemoryMarshal.Cast<byte, float>(bytes));
                break;
            case HostImageFormat.Rgba16Float:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < n; i++) { halves[i] = (Half)(rng.NextDouble() * 4 - 2); values[i] = (float)halves[i]; }
                break;
            default:
                for (int i = 0; i < n; i++) { bytes[i] = (byte)rng.Next(256); values[i] = bytes[i] / 255f; }
                break;
        }
        return values;
    }

    /// <summary>The image's staging buffer (after a readback) as floats, rgba per pixel.</summary>
    internal static float[] Read(HostImageResources image)
    {
        var bytes = image.StagingBytes;
        return image.Format switch
        {
            HostImageFormat.Rgba32Float => MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
            HostImageFormat.Rgba16Float => MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h).ToArray(),
            _ => bytes.ToArray().Select(b => b / 255f).ToArray(),
        };
    }
}
