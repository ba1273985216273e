using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of shaders/concat/concat.copy.comp: a strided block copy that moves one input's channels into
/// its slice of the output (forward) or the slice of the output gradient back out (backward), or a window of rows of
/// every plane (<see cref="CopyRows"/>: <see cref="RowBandedConvs"/>).
/// </summary>
internal static class ConcatKernels
{
    static readonly KernelSpec Spec = new("concat/concat.copy", KernelSpec.Buffers(2), 24, Array.Empty<uint>(), Emitter.ElementwiseLocal);

    public static void Forward(ForwardPass f)
    {
        int channel = 0;
        for (int i = 0; i < f.Inputs.Length; i++)
        {
            CopyIn(f.Emitter, f.Inputs[i], f.Output, channel, $"{f.Name}.fwd{i}");
            channel += f.Inputs[i].Shape[1];
        }
    }

    public static void Backward(BackwardPass b)
    {
        int channel = 0;
        for (int i = 0; i < b.Inputs.Length; i++)
        {
            if (b.GradInputs[i] is { } dx) CopyOut(b.Emitter, b.GradOutput, dx, channel, $"{b.Name}.bwd{i}");
            channel += b.Inputs[i].Shape[1];
        }
    }

    /// <summary>Copies x [N,C,...] into channels [channel, channel + C) of y [N,Ctot,...].</summary>
    public static void CopyIn(Emitter e, Value x, Value y, int channel, string label)
    {
        if (y.Layout == TensorLayout.Nhwc)
        {
            // Channels-last: each pixel's C channels go to channels [channel, channel + C) of its Ctot.
            int c = x.Shape[1], ctot = y.Shape[1];
            Copy(e, x, y, (int)x.Shape.Elements, c, c, 0, ctot, channel, label);
            return;
        }
        int inner = Inner(y.Shape), block = x.Shape[1] * inner;
        Copy(e, x, y, (int)x.Shape.Elements, block, block, 0, y.Shape[1] * inner, channel * inner, label);
    }

    /// <summary>Copies channels [channel, channel + C) of dy [N,Ctot,...] into dx [N,C,...].</summary>
    public static void CopyOut(Emitter e, Value dy, Value dx, int channel, string label)
    {
        if (dy.Layout == TensorLayout.Nhwc)
        {
            // Channels-last: channels [channel, channel + C) of each pixel's Ctot.
            int c = dx.Shape[1], ctot = dy.Shape[1];
            Copy(e, dy, dx, (int)dx.Shape.Elements, c, ctot, channel, c, 0, label);
            return;
        }
        int inner = Inner(dy.Shape), block = dx.Shape[1] * inner;
        Copy(e, dy, dx, (int)dx.Shape.Elements, block, dy.Shape[1] * inner, channel * inner, block, 0, label);
    }

    /// <summary>Copies rows [srcRow, srcRow + rows) of every plane of src [N,C,Hs,W] into rows [dstRow, dstRow + rows) of dst [N,C,Hd,W].</summary>
    public static void CopyRows(Emitter e, Value src, int srcRow, Value dst, int dstRow, int rows, string label)
    {
        // A plane is an image's channel in NCHW, an image (its rows of W C elements) in NHWC.
        bool nhwc = src.Layout == TensorLayout.Nhwc;
        int w = nhwc ? src.Shape[3] * src.Shape[1] : src.Shape[3], block = rows * w, planes = nhwc ? src.Shape[0] : src.Shape[0] * src.Shape[1];
        Copy(e, src, dst, checked(planes * block), block, src.Shape[2] * w, srcRow * w, dst.Shape[2] * w, dstRow * w, label);
    }

    static int Inner(Shape y) => (int)(y.Elements / y[0] / y[1]);

    /// <summary>One concat.copy dispatch: 4 elements per invocation where every size, stride and offset is a multiple of 4.</summary>
    static void Copy(Emitter e, Value src, Value dst, int count, int block, int srcStride, int srcOffset, int dstStride, int dstOffset, string label)
    {
        int width = new[] { count, block, srcStride, srcOffset, dstStride, dstOffset }.All(v => v % 4 == 0) ? 4 : 1;
        e.Dispatch(Spec with { Constants = new[] { (uint)width } }, e.ElementwiseGroups(count / width),
            PushConstants.Ints(count, block, srcStride, srcOffset, dstStride, dstOffset), label, Arg.In(src), Arg.Out(dst));
        e.DeclareBytes(2L * count * src.ElementType.SizeInBytes()); // count elements read and written, of values it binds whole
    }
}
