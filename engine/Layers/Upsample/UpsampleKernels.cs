using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>Dispatches of shaders/upsample/upsample.fwd.comp and upsample.bwd.comp (one invocation per element; backward gathers).</summary>
internal static class UpsampleKernels
{
    static uint[] Constants(UpsampleMode mode, int scale, Shape x) => new[] { (uint)mode, (uint)scale, (uint)x[2], (uint)x[3] };

    public static void Forward(ForwardPass f, UpsampleMode mode, int scale)
    {
        var x = f.Input; var y = f.Output;
        var spec = new KernelSpec("upsample/upsample.fwd", KernelSpec.Buffers(2), 12, Constants(mode, scale, x.Shape), Emitter.ElementwiseLocal);
        f.Emitter.Dispatch(spec, f.Emitter.ElementwiseGroups(y.Shape.Elements),
            PushConstants.Ints((int)y.Shape.Elements, x.Shape[2], x.Shape[3]), $"{f.Name}.fwd", Arg.In(x), Arg.Out(y));
    }

    public static void Backward(BackwardPass b, UpsampleMode mode, int scale)
    {
        if (b.GradInput is not { } dx) return;
        var spec = new KernelSpec("upsample/upsample.bwd", KernelSpec.Buffers(2), 12, Constants(mode, scale, b.Input.Shape), Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(dx.Shape.Elements),
            PushConstants.Ints((int)dx.Shape.Elements, b.Input.Shape[2], b.Input.Shape[3]), $"{b.Name}.bwd", Arg.In(b.GradOutput), Arg.Out(dx));
    }
}
