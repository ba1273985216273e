using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_narrow.comp: the convolution forward for layers of at most <see cref="MaxChannels"/> output
/// channels (groups 1, stride and dilation up to 2, kernels spanning up to 5 input pixels per axis), a network's last
/// layer such as the denoiser's 64 -> 3. A workgroup stages a tile's input patch and the weights in shared memory, 8
/// input channels a step, and each invocation computes a few pixels for every output channel from registers. Its .dact
/// variant takes an input gradient through the activation of the layer before (<see cref="ActivationGradient"/>).
/// On an H200 the direct kernel, the only one for such layers before it, ran the denoiser's last layer at 4 to 15
/// TFLOP/s, far below its memory bound (its f16 input, read once, is 0.27 GB at 1920 x 1088). Runs where the compile tunes
/// (<see cref="NeedsTuning"/>), timed against the direct kernel's tiles; on a CPU device only when named.
/// </summary>
internal class Conv2dNarrow : IConv2dForward
{
    /// <summary>The module of <see cref="Layout"/>: conv2d.fwd_narrow, or its ".nhwc" variant.</summary>
    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd_narrow", Layout);
    /// <summary>Output channels at most (the shader's CO_MAX).</summary>
    internal const int MaxChannels = 8;
    /// <summary>Input channels a step (CK).</summary>
    const int ChannelStep = 8;
    /// <summary>Input values an invocation's pixels span per kernel row, at most (the shader's SEG_MAX).</summary>
    const int SegmentMax = 16;

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 7;
    public bool Supports(DeviceInfo device) => device.MaxWorkgroupInvocations >= 256 && device.MaxSharedMemoryBytes >= 32 * 1024;
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public bool NeedsTuning => true;

    /// <summary>Groups of 1, at most <see cref="MaxChannels"/> output channels, stride and dilation up to 2, kernels spanning
    /// up to 5 input pixels per axis, and no more default tiles (<see cref="AllTiles"/>' first, 8 x 64) than one dispatch's
    /// x holds.</summary>
    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && y[1] <= MaxChannels && a.Stride.H <= 2 && a.Stride.W <= 2 && a.Dilation.H <= 2 && a.Dilation.W <= 2 &&
        a.KernelSpan.H <= 5 && a.KernelSpan.W <= 5 &&
        (long)y[0] * ((y[2] + AllTiles[0].Rows - 1) / AllTiles[0].Rows) * ((y[3] + AllTiles[0].Columns - 1) / AllTiles[0].Columns) <= 65535;

    /// <summary>The tiles (rows, columns, pixels per invocation) offered, the default first: 8 x 64 pixels, 4 per
    /// invocation (128 invocations); then 2 per invocation (256), 16 x 32 with 2 (256), and 4 x 32 with 2 (64), whose
    /// patch fits 32 KiB for every layer <see cref="Accepts"/> takes (a 5x5 or dilated 3x3 kernel at stride 2).</summary>
    static readonly (int Rows, int Columns, int Pixels)[] AllTiles = { (8, 64, 4), (8, 64, 2), (16, 32, 2), (4, 32, 2) };

    /// <summary>The shader's shared memory for a tile: the patch of <see cref="ChannelStep"/> channels and their weights.</summary>
    internal static long SharedBytes(ConvAttributes a, int rows, int columns)
    {
        long pr = (rows - 1) * a.Stride.H + (a.Kernel.H - 1) * a.Dilation.H + 1, pc = (columns - 1) * a.Stride.W + (a.Kernel.W - 1) * a.Dilation.W + 1;
        return 4L * ChannelStep * (pr * pc + a.Kernel.H * a.Kernel.W * MaxChannels);
    }

    /// <summary>The tiles that fit the device and the shader's registers.</summary>
    internal static IEnumerable<(int Rows, int Columns, int Pixels)> Tiles(DeviceInfo device, ConvAttributes a) =>
        AllTiles.Where(t => t.Rows * t.Columns / t.Pixels <= device.MaxWorkgroupInvocations
            && (t.Pixels - 1) * a.Stride.W + (a.Kernel.W - 1) * a.Dilation.W + 1 <= SegmentMax
            && SharedBytes(a, t.Rows, t.Columns) <= device.MaxSharedMemoryBytes);

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        var result = new List<TuneCandidate>();
        foreach (var (rows, columns, pixels) in Tiles(e.Device, a))
        {
            long tiles = (long)n * ((oh + rows - 1) / rows) * ((ow + columns - 1) / columns);
            if (tiles > e.Device.MaxWorkgroupCount[0]) continue;
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)cout,
                (uint)rows, (uint)columns, (uint)pixels, (uint)ChannelStep,
            };
            var spec = new KernelSpec(Module, KernelSpec.Buffers(4), 28, constants, (uint)(rows * columns / pixels));
            result.Add(new TuneCandidate($"narrow{rows}x{columns}p{pixels}", spec, ((uint)tiles, 1u, 1u), push));
        }
        return result;
    }
}

/// <summary>
/// <see cref="Conv2dNarrow"/> over channels-last activations (conv2d.fwd_narrow.nhwc and its .dact form): the patch
/// staged a pixel's channels at a time, the same sums in the same order.
/// </summary>
internal sealed class Conv2dNarrowNhwc : Conv2dNarrow
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
