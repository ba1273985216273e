using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Dispatches of shaders/concat/concat.copy.comp: a strided block copy that moves one input's channels into
/// its slice of the output (forward) or the slice of the output gradient back out (backward).
/// </summary>
internal static class ConcatKernels
{
    static readonly KernelSpec Spec = new("concat/concat.copy", KernelSpec.Buffers(2), 24, Array.Empty<uint>(), Emitter.ElementwiseLocal);

    public static void Forward(ForwardPass f)
    {
        var y = f.Output.Shape;
        int inner = (int)(y.Elements / y[0] / y[1]), outStride = y[1] * inner, offset = 0;
        for (int i = 0; i < f.Inputs.Length; i++)
        {
            var x = f.Inputs[i];
            int block = x.Shape[1] * inner;
            Copy(f.Emitter, x, f.Output, (int)x.Shape.Elements, block, block, 0, outStride, offset, $"{f.Name}.fwd{i}");
            offset += block;
        }
    }

    public static void Backward(BackwardPass b)
    {
        var y = b.Output.Shape;
        int inner = (int)(y.Elements / y[0] / y[1]), outStride = y[1] * inner, offset = 0;
        for (int i = 0; i < b.Inputs.Length; i++)
        {
            int block = b.Inputs[i].Shape[1] * inner;
            if (b.GradInputs[i] is { } dx)
                Copy(b.Emitter, b.GradOutput, dx, (int)dx.Shape.Elements, block, outStride, offset, block, 0, $"{b.Name}.bwd{i}");
            offset += block;
        }
    }

    static void Copy(Emitter e, Value src, Value dst, int count, int block, int srcStride, int srcOffset, int dstStride, int dstOffset, string label) =>
        e.Dispatch(Spec, e.ElementwiseGroups(count), PushConstants.Ints(count, block, srcStride, srcOffset, dstStride, dstOffset), label,
            Arg.In(src), Arg.Out(dst));
}
