using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The binary ops of shaders/binary/binary.*.comp; the codes are the shaders' OP specialization constant. Add (3) only
/// goes to the broadcasting kernels: same-shape Add uses the shared elementwise/add kernel.
/// </summary>
internal enum BinaryOp { Mul = 0, Sub = 1, Div = 2, Add = 3 }

/// <summary>
/// Dispatches of the elementwise group's kernels: shaders/binary (mul, sub, div), shaders/clip, shaders/gelu and
/// shaders/pad. The same-shape ones take 4 elements per invocation (include/elementwise.glsl's vector kernels), pad one;
/// pad's backward gathers, so no kernel uses atomics.
/// </summary>
internal static class ElementwiseKernels
{
    static byte[] Count(Value v) => PushConstants.Ints((int)v.Shape.Elements);

    public static void Binary(ForwardPass f, BinaryOp op)
    {
        var spec = new KernelSpec("binary/binary.fwd", KernelSpec.Buffers(3), 4, new[] { (uint)op }, Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.VectorGroups(f.Output.Shape.Elements), Count(f.Output), $"{f.Name}.fwd",
            Arg.In(f.Inputs[0]), Arg.In(f.Inputs[1]), Arg.Out(f.Output));
    }

    /// <summary>Writes each requested input gradient (sub's do not read the inputs, so they are not bound there).</summary>
    public static void BinaryBackward(BackwardPass b, BinaryOp op)
    {
        for (int which = 0; which < 2; which++)
        {
            if (b.GradInputs[which] is not { } d) continue;
            string label = $"{b.Name}.bwd{which}";
            if (op == BinaryOp.Sub && which == 0)
            {
                b.Emitter.Unary(Activation.None, 0f, b.GradOutput, d, label);
                continue;
            }
            var spec = new KernelSpec("binary/binary.bwd", KernelSpec.Buffers(4), 4, new[] { (uint)op, (uint)which }, Emitter.ElementwiseLocal);
            var (a, bb) = op == BinaryOp.Sub ? (b.GradOutput, b.GradOutput) : (b.Inputs[0], b.Inputs[1]);
            b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(d.Shape.Elements), Count(d), label,
                Arg.In(a), Arg.In(bb), Arg.In(b.GradOutput), Arg.Out(d));
        }
    }

    static uint[] ClipConstants(float min, float max) => new[] { KernelSpec.Word(min), KernelSpec.Word(max) };

    public static void Clip(ForwardPass f, float min, float max)
    {
        var spec = new KernelSpec("clip/clip.fwd", KernelSpec.Buffers(2), 4, ClipConstants(min, max), Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.VectorGroups(f.Output.Shape.Elements), Count(f.Output), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.Out(f.Output));
    }

    public static void ClipBackward(BackwardPass b, float min, float max)
    {
        if (b.GradInput is not { } dx) return;
        var spec = new KernelSpec("clip/clip.bwd", KernelSpec.Buffers(3), 4, ClipConstants(min, max), Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(dx.Shape.Elements), Count(dx), $"{b.Name}.bwd",
            Arg.In(b.Input), Arg.In(b.GradOutput), Arg.Out(dx));
    }

    public static void Gelu(ForwardPass f)
    {
        var spec = new KernelSpec("gelu/gelu.fwd", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.VectorGroups(f.Output.Shape.Elements), Count(f.Output), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.Out(f.Output));
    }

    public static void GeluBackward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        var spec = new KernelSpec("gelu/gelu.bwd", KernelSpec.Buffers(3), 4, Array.Empty<uint>(), Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(spec, b.Emitter.VectorGroups(dx.Shape.Elements), Count(dx), $"{b.Name}.bwd",
            Arg.In(b.Input), Arg.In(b.GradOutput), Arg.Out(dx));
    }

    static uint[] PadConstants(Pad pad, Shape x) =>
        new[] { (uint)pad.Mode, (uint)pad.Left, (uint)pad.Right, (uint)pad.Top, (uint)pad.Bottom, (uint)x[2], (uint)x[3] };

    public static void Pad(ForwardPass f, Pad pad)
    {
        var x = f.Input; var y = f.Output;
        var spec = new KernelSpec("pad/pad.fwd", KernelSpec.Buffers(2), 12, PadConstants(pad, x.Shape), Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.ElementwiseGroups(y.Shape.Elements),
            PushConstants.Ints((int)y.Shape.Elements, x.Shape[2], x.Shape[3]), $"{f.Name}.fwd", Arg.In(x), Arg.Out(y));
    }

    public static void PadBackward(BackwardPass b, Pad pad)
    {
        if (b.GradInput is not { } dx) return;
        var x = b.Input.Shape;
        var spec = new KernelSpec("pad/pad.bwd", KernelSpec.Buffers(2), 12, PadConstants(pad, x), Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(dx.Shape.Elements),
            PushConstants.Ints((int)dx.Shape.Elements, x[2], x[3]), $"{b.Name}.bwd", Arg.In(b.GradOutput), Arg.Out(dx));
    }
}
