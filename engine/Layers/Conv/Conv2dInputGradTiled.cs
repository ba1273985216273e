using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for stride 1 as a tiled implicit GEMM (shaders/conv2d/conv2d.bwd_input_tiled.comp), for
/// GPUs: dX [Cin/groups x N*H*W per group] = W^T [Cin/groups x Cout/groups*KH*KW] * im2col(dY). Workgroups of 256
/// invocations compute 16*TM channels x 64 pixels (TM = 4, 2 or 1 as Cin/groups allows) from shared-memory K slices of
/// 32 loaded coalesced along the pixels. Strided layers keep the gather (most taps of a strided transpose are zero).
/// </summary>
internal sealed class Conv2dInputGradTiled : IConv2dInputGrad
{
    const uint Local = 256;
    /// <summary>Pixels per workgroup tile (BN in the shader).</summary>
    internal const int TilePixels = 64;
    /// <summary>Shared memory the shader declares: a 64 x (32 + 4) weight tile and a 32 x 64 dY tile.</summary>
    const uint SharedBytes = (64 * 36 + 32 * 64) * 4;

    public string Operation => "conv2d.bwd_input";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    public bool Supports(DeviceInfo device) => device.MaxSharedMemoryBytes >= SharedBytes;
    /// <summary>On a CPU device (lavapipe) the gather is faster; there this one runs only when preferred by name.</summary>
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;

    public bool Accepts(ConvAttributes a, Shape dy, Shape dx) =>
        a.Stride == (1, 1) && (long)dx[0] * dx[2] * dx[3] <= 65535L * TilePixels && a.Groups <= 65535;

    /// <summary>Channels per invocation (TM): the fewest of 1, 2, 4 rows of 16 that cover Cin/groups.</summary>
    internal static int RowsPerInvocation(int cinG) => cinG <= 16 ? 1 : cinG <= 32 ? 2 : 4;

    /// <summary>The workgroup grid: pixel tiles, channel tiles, groups.</summary>
    internal static (uint X, uint Y, uint Z) Grid(int groups, int cinG, long pixels) =>
        ((uint)((pixels + TilePixels - 1) / TilePixels), (uint)((cinG + 16 * RowsPerInvocation(cinG) - 1) / (16 * RowsPerInvocation(cinG))), (uint)groups);

    public void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label)
    {
        var (n, cout, oh, ow) = dy.Shape.Nchw;
        var (_, cin, h, wd) = dx.Shape.Nchw;
        int cinG = cin / a.Groups;
        var constants = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Padding.H, (uint)a.Padding.W, (uint)a.Dilation.H, (uint)a.Dilation.W,
            (uint)a.Groups, (uint)cin, (uint)cout, (uint)h, (uint)wd, (uint)oh, (uint)ow, (uint)RowsPerInvocation(cinG),
        };
        var spec = new KernelSpec("conv2d/conv2d.bwd_input_tiled", KernelSpec.Buffers(3), 28, constants, Local);
        e.Dispatch(spec, Grid(a.Groups, cinG, (long)n * h * wd), PushConstants.Ints(n, cin, cout, h, wd, oh, ow), label,
            Arg.In(dy), Arg.In(w), Arg.Out(dx));
    }
}
