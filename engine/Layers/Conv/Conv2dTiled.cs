using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_tiled.comp: the fp32 convolution forward for GPUs, for the UNets' layers (stride 1,
/// dilation 1, groups 1, kernels up to 3x3, at least 16 output channels): 16 x 16 output pixels x 32 or 64 output
/// channels per workgroup, input patch and weights staged through shared memory in chunks of 8 input channels, 8 x 8
/// outputs per invocation. Chosen by itself on GPUs only (on lavapipe shared memory and barriers cost more than they
/// save: tests force it there by name). The registry picks it only under CompileOptions.Autotune (the GPU default),
/// where it is timed against the other entries' kernels for each layer's shape and the fastest runs (ConvForward).
/// </summary>
internal sealed class Conv2dTiled : IConv2dForward
{
    const int Tile = 16; // TH, TW in the shader

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 8;
    public bool Supports(DeviceInfo device) => device.MaxSharedMemoryBytes >= 32 * 1024 && device.MaxWorkgroupInvocations >= 256;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    /// <summary>Measured on an H200, it beat the direct kernel's tiles on some UNet layers only (and lost on 64- and
    /// 256-channel layers at 512x512 and 128x128): it runs where the compile tunes, timed against them.</summary>
    public bool NeedsTuning => true;
    public bool ReadsConcat => true;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Stride == (1, 1) && a.Dilation == (1, 1) && a.Kernel.H <= 3 && a.Kernel.W <= 3 && y[1] >= 16 &&
        (long)((y[3] + Tile - 1) / Tile) * ((y[2] + Tile - 1) / Tile) <= 65535 && y[0] <= 65535;

    /// <summary>Output channels per workgroup: 32 for layers of up to 32 channels, else 64.</summary>
    internal static int ChannelsPerGroup(int cout) => cout <= 32 ? 32 : 64;

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        int bco = ChannelsPerGroup(cout);
        var constants = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Padding.H, (uint)a.Padding.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
            (uint)cin, (uint)cout, (uint)h, (uint)wd, (uint)oh, (uint)ow, (uint)bco,
        };
        var spec = new KernelSpec("conv2d/conv2d.fwd_tiled", KernelSpec.Buffers(4), 0, constants, (uint)(32 * bco / 8));
        var groups = ((uint)(((ow + Tile - 1) / Tile) * ((oh + Tile - 1) / Tile)), (uint)((cout + bco - 1) / bco), (uint)n);
        return new[] { new TuneCandidate("tiled", spec, groups, Array.Empty<byte>()) };
    }
}
