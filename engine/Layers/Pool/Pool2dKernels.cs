using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Shared by MaxPool2d and AvgPool2d: the shape rule and the dispatches of shaders/pool/pool.fwd.comp and
/// pool.bwd.comp (one invocation per element, or per 4 where <see cref="Vector"/> allows; the backward pass gathers,
/// so no atomics).
/// </summary>
internal static class Pool2dKernels
{
    public const int Max = 0, Average = 1;

    public static void CheckArguments(string kind, (int H, int W) kernel, (int H, int W) stride)
    {
        if (kernel.H <= 0 || kernel.W <= 0 || stride.H <= 0 || stride.W <= 0)
            throw new ArgumentException($"{kind}: kernel size and stride must be positive, got kernel {kernel.H}x{kernel.W}, stride {stride.H}x{stride.W}.");
    }

    /// <summary>
    /// PyTorch's floor rule, except that non-overlapping pooling (kernel == stride) must tile the input
    /// exactly: a UNet's decoder relies on exact halving, so a lost row is an error here, not a silent crop.
    /// </summary>
    public static Shape OutputShape(string kind, (int H, int W) k, (int H, int W) s, Shape x)
    {
        if (x.Rank != 4) throw new GraphException($"{kind} takes [N,C,H,W], got {x}.");
        var (n, c, h, w) = x.Nchw;
        if (h < k.H || w < k.W)
            throw new GraphException($"{kind}: input {h}x{w} ({x}) is smaller than the {k.H}x{k.W} window.");
        if (k == s && (h % s.H != 0 || w % s.W != 0))
        {
            string need = s.H == 2 && s.W == 2 ? "even H and W" : $"H divisible by {s.H} and W by {s.W}";
            throw new GraphException($"{kind}: {k.H}x{k.W} pooling with stride {Format(s)} needs {need}, got {h}x{w} ({x}).");
        }
        return new Shape(n, c, (h - k.H) / s.H + 1, (w - k.W) / s.W + 1);
    }

    static string Format((int H, int W) s) => s.H == s.W ? $"{s.H}" : $"{s.H}x{s.W}";

    static uint[] Constants(int mode, (int H, int W) k, (int H, int W) s, Shape x, Shape y) => new[]
    {
        (uint)mode, (uint)k.H, (uint)k.W, (uint)s.H, (uint)s.W, (uint)x[2], (uint)x[3], (uint)y[2], (uint)y[3],
    };

    /// <summary>
    /// Whether the 4-wide form of the kernels applies (their headers): the forward takes 4 outputs of a row (NCHW:
    /// windows side by side, kernel width == stride, W and OW multiples of 4) or 4 channels of a pixel (NHWC: C a
    /// multiple of 4); the backward, NCHW only, 4 windows of a row that tile x exactly.
    /// </summary>
    public static bool Vector(bool backward, (int H, int W) k, (int H, int W) s, Shape x, Shape y, TensorLayout layout) =>
        layout == TensorLayout.Nhwc ? !backward && x[1] % 4 == 0
            : k.W == s.W && x[3] % 4 == 0 && y[3] % 4 == 0 && (!backward || k.H == s.H);

    public static void Forward(ForwardPass f, int mode, (int H, int W) k, (int H, int W) s)
    {
        var x = f.Input; var y = f.Output;
        bool vector = Vector(false, k, s, x.Shape, y.Shape, x.Layout);
        // Then the channels (read by the .nhwc variant) and VEC.
        var constants = Constants(mode, k, s, x.Shape, y.Shape).Append((uint)x.Shape[1]).Append(vector ? 1u : 0u).ToArray();
        var spec = new KernelSpec(ActivationLayouts.Module("pool/pool.fwd", x.Layout), KernelSpec.Buffers(2), 20, constants, Emitter.ElementwiseLocal);
        long count = y.Shape.Elements;
        f.Emitter.Dispatch(spec, vector ? f.Emitter.VectorGroups(count) : f.Emitter.ElementwiseGroups(count),
            PushConstants.Ints((int)count, x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]), $"{f.Name}.fwd",
            Arg.In(x), Arg.Out(y));
    }

    /// <summary>
    /// The gradient gathered to x; for a max pool whose input is the output of an activation fused into the layer before
    /// (<see cref="BackwardPass.InputActivations"/>), leaving through its derivative with the gradient x's other reader
    /// gave added first (<see cref="ActivationGradient.Addend"/>): a UNet encoder's output, read by its pool and by a
    /// decoder, gets its whole gradient before the activation here.
    /// </summary>
    public static void Backward(BackwardPass b, int mode, (int H, int W) k, (int H, int W) s)
    {
        if (b.GradInput is not { } dx) return;
        var x = b.Input; var y = b.Output;
        var g = mode == Max ? b.InputActivations[0] : null;
        bool vector = Vector(true, k, s, x.Shape, y.Shape, x.Layout);
        var constants = Constants(mode, k, s, x.Shape, y.Shape)
            .Concat(new[] { vector ? 1u : 0u, (uint)(g?.Activation ?? Activation.None), KernelSpec.Word(g?.Slope ?? 0), g?.Addend != null ? 1u : 0u })
            .Append((uint)x.Shape[1]) // the channels, read by the .nhwc variant
            .ToArray();
        var module = ActivationLayouts.Module("pool/pool.bwd", dx.Layout);
        var spec = new KernelSpec(module, KernelSpec.Buffers(4), 20, constants, Emitter.ElementwiseLocal);
        // Average pooling doesn't read x; bind dy in its place so x needn't stay alive for the backward pass.
        var first = mode == Max ? x : b.GradOutput;
        b.Emitter.Dispatch(spec, vector ? b.Emitter.VectorGroups(y.Shape.Elements) : b.Emitter.ElementwiseGroups(dx.Shape.Elements),
            PushConstants.Ints((int)dx.Shape.Elements, x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]), $"{b.Name}.bwd",
            Arg.In(first), Arg.In(b.GradOutput), Arg.Out(dx), Arg.In(g?.Addend ?? b.GradOutput));
        b.ActivatedGradInputs[0] = g != null;
    }
}
