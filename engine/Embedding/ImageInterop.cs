using System.Runtime.InteropServices;
using Kiln.Vulkan;

namespace Kiln.Embedding;

/// <summary>
/// Copies between a host's storage images and a network's f32 NCHW tensors on the GPU, recorded into any
/// <see cref="CommandTarget"/> (typically the host's frame, <see cref="HostCommandBuffer"/>): no round trip
/// through host memory. Each call records a compute-to-compute barrier before its dispatch (so it sees what
/// earlier Kiln work wrote) and after it (so later Kiln work sees what it wrote); the host's own accesses are
/// ordered by the full barriers that open and close a <see cref="HostCommandBuffer"/>. Images stay in
/// VK_IMAGE_LAYOUT_GENERAL (see <see cref="HostImage"/>).
/// </summary>
public static class ImageInterop
{
    const uint Local = 16;

    /// <summary>
    /// Writes the image's first <paramref name="channels"/> channels (r, g, b, a) into channels
    /// [firstChannel, firstChannel + channels) of <paramref name="tensor"/> (shape [1, C, H, W] with H, W the
    /// image's size).
    /// </summary>
    public static void ImageToTensor(CommandTarget target, HostImage image, Tensor tensor, int firstChannel = 0, int channels = 3)
    {
        CheckSameSize(image, tensor, "ImageToTensor");
        ImageToTensor(target, image, 0, 0, tensor, 0, 0, image.Width, image.Height, firstChannel, channels);
    }

    /// <summary>
    /// Writes channels [firstChannel, firstChannel + channels) of <paramref name="tensor"/> (shape [1, C, H, W]
    /// with H, W the image's size) into the image's first channels; the rest are 0, alpha 1.
    /// </summary>
    public static void TensorToImage(CommandTarget target, Tensor tensor, HostImage image, int firstChannel = 0, int channels = 3)
    {
        CheckSameSize(image, tensor, "TensorToImage");
        TensorToImage(target, tensor, 0, 0, image, 0, 0, image.Width, image.Height, firstChannel, channels);
    }

    /// <summary>
    /// Region form of <see cref="ImageToTensor(CommandTarget, HostImage, Tensor, int, int)"/>: the
    /// <paramref name="width"/> x <paramref name="height"/> pixels at image pixel (imageX, imageY) go to tensor
    /// pixel (tensorX, tensorY). Both regions must lie inside their image and tensor.
    /// </summary>
    public static void ImageToTensor(CommandTarget target, HostImage image, int imageX, int imageY, Tensor tensor, int tensorX, int tensorY,
        int width, int height, int firstChannel = 0, int channels = 3) =>
        Record(target, "image_to_tensor", image, imageX, imageY, tensor, tensorX, tensorY, width, height, firstChannel, channels, imageFirst: true);

    /// <summary>
    /// Region form of <see cref="TensorToImage(CommandTarget, Tensor, HostImage, int, int)"/>: the
    /// <paramref name="width"/> x <paramref name="height"/> pixels at tensor pixel (tensorX, tensorY) go to image
    /// pixel (imageX, imageY).
    /// </summary>
    public static void TensorToImage(CommandTarget target, Tensor tensor, int tensorX, int tensorY, HostImage image, int imageX, int imageY,
        int width, int height, int firstChannel = 0, int channels = 3) =>
        Record(target, "tensor_to_image", image, imageX, imageY, tensor, tensorX, tensorY, width, height, firstChannel, channels, imageFirst: false);

    static void CheckSameSize(HostImage image, Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Shape.Rank == 4 && (tensor.Shape[2] != image.Height || tensor.Shape[3] != image.Width))
            throw new ArgumentException($"{what}: {tensor} is {tensor.Shape[3]}x{tensor.Shape[2]} pixels, the image {image.Width}x{image.Height}; use the region form for parts.");
    }

    [StructLayout(LayoutKind.Sequential)]
    readonly record struct Push(int Ix, int Iy, uint Tx, uint Ty, uint W, uint H, uint C, uint Th, uint Tw, uint C0, uint Count);

    static void Record(CommandTarget target, string kernel, HostImage image, int ix, int iy, Tensor tensor, int tx, int ty,
        int w, int h, int c0, int count, bool imageFirst)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(tensor);
        string what = $"{kernel} ({tensor.Name})";
        image.Check(what);
        if (tensor.Context != target.Context) throw new ArgumentException($"{what}: {tensor} belongs to another GpuContext than the command target.");
        if (tensor.ElementType != ElementType.F32 || tensor.Layout != TensorLayout.Nchw || tensor.Shape.Rank != 4 || tensor.Shape[0] != 1)
            throw new ArgumentException($"{what}: {tensor} must be f32, NCHW, with batch 1 ([1, C, H, W]).");
        long c = tensor.Shape[1], th = tensor.Shape[2], tw = tensor.Shape[3];
        if (count < 1 || count > 4) throw new ArgumentOutOfRangeException(nameof(count), $"{what}: {count} channels; an image has 1 to 4.");
        if (c0 < 0 || c0 + count > c) throw new ArgumentOutOfRangeException(nameof(c0), $"{what}: channels [{c0}, {c0 + count}) are outside the tensor's {c}.");
        if (w < 1 || h < 1) throw new ArgumentOutOfRangeException(nameof(w), $"{what}: the region is {w}x{h}.");
        if (tx < 0 || ty < 0 || tx + w > tw || ty + h > th)
            throw new ArgumentOutOfRangeException(nameof(tx), $"{what}: region {w}x{h} at tensor pixel ({tx}, {ty}) runs outside the tensor's {tw}x{th}.");
        if (ix < 0 || iy < 0 || ix + w > image.Width || iy + h > image.Height)
            throw new ArgumentOutOfRangeException(nameof(ix), $"{what}: region {w}x{h} at image pixel ({ix}, {iy}) runs outside the image's {image.Width}x{image.Height}.");

        var module = $"interop/{kernel}" + image.Format switch
        {
            HostImageFormat.Rgba16Float => ".rgba16f",
            HostImageFormat.Rgba8Unorm => ".rgba8",
            _ => "",
        };
        var bindings = imageFirst
            ? new[] { BindingKind.StorageImage, BindingKind.StorageBuffer }
            : new[] { BindingKind.StorageBuffer, BindingKind.StorageImage };
        var spec = new KernelSpec(module, bindings, (uint)Marshal.SizeOf<Push>(), Array.Empty<uint>(), Local, Local);
        var img = Binding.StorageImage(new Silk.NET.Vulkan.ImageView((ulong)image.View));
        var buf = Binding.Of(tensor.Storage);
        var push = new Push(ix, iy, (uint)tx, (uint)ty, (uint)w, (uint)h, (uint)c, (uint)th, (uint)tw, (uint)c0, (uint)count);
        var r = target.Recorder;
        r.Barrier(BarrierKind.ComputeToCompute);
        r.Dispatch(spec, imageFirst ? new[] { img, buf } : new[] { buf, img }, MemoryMarshal.AsBytes(new ReadOnlySpan<Push>(in push)),
            ((uint)w + Local - 1) / Local, ((uint)h + Local - 1) / Local, 1, $"{kernel} {image.Width}x{image.Height} {image.Format} <-> {tensor.Name}");
        r.Barrier(BarrierKind.ComputeToCompute);
    }
}
