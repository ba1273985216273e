using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Realtime;

/// <summary>
/// One frame being recorded: its index and scene time, the command list, the stage timer, and the buffers the
/// loop reads back (the RGBA8 display words and a few scalars). Demos record their dispatches through it.
/// </summary>
internal sealed class Frame
{
    public const uint TileSize = 8, LineSize = 64;
    readonly GpuTimer? timer;
    readonly Tensor? display, scalars;
    readonly Dictionary<int, FrameStage> stageBySpan = new();
    bool inStage;

    public Frame(int index, int slot, double time, CommandList list, GpuTimer timer, Tensor display, Tensor scalars)
    {
        Index = index;
        Slot = slot;
        Time = time;
        List = list;
        this.timer = timer;
        this.display = display;
        this.scalars = scalars;
    }

    /// <summary>A frame outside the loop (tests, one-off renders): no stage timing, no display or scalars.</summary>
    public Frame(CommandList list, double time = 0, int index = 0)
    {
        Index = index;
        Time = time;
        List = list;
    }

    public int Index { get; }
    public int Slot { get; }
    /// <summary>Scene time in seconds.</summary>
    public double Time { get; }
    public CommandList List { get; }
    internal CommandRecorder Recorder => List.Recorder;
    public GpuContext Context => List.Context;
    /// <summary>The composed frame: one packed RGBA8 word per pixel.</summary>
    public Tensor Display => display ?? throw new InvalidOperationException("This frame has no display buffer (it runs outside a FrameLoop).");
    /// <summary>Scalars read back with the frame (NaN unless written this frame).</summary>
    public Tensor Scalars => scalars ?? throw new InvalidOperationException("This frame has no scalars (it runs outside a FrameLoop).");
    /// <summary>Stages timed so far, in order (span index -> stage).</summary>
    public IReadOnlyDictionary<int, FrameStage> Stages => stageBySpan;
    int spans;

    /// <summary>Starts timing a stage: a barrier orders it after everything recorded before.</summary>
    public void BeginStage(FrameStage stage)
    {
        if (inStage) throw new InvalidOperationException($"Stage {stage} begun inside another stage.");
        Recorder.Barrier(BarrierKind.Full);
        timer?.Begin(Recorder.Cmd, stage.ToString());
        stageBySpan[spans++] = stage;
        inStage = true;
    }

    public void EndStage()
    {
        if (!inStage) throw new InvalidOperationException("No stage to end.");
        Recorder.Barrier(BarrierKind.Full);
        timer?.End(Recorder.Cmd);
        inStage = false;
    }

    /// <summary>Records a realtime shader over a 2-D grid of <paramref name="width"/> x <paramref name="height"/> threads (8x8 groups).</summary>
    public void Dispatch2D(string module, int width, int height, ReadOnlySpan<byte> push, uint[] constants, params Tensor[] buffers) =>
        Dispatch(module, push, constants, buffers, (uint)((width + TileSize - 1) / TileSize), (uint)((height + TileSize - 1) / TileSize), TileSize, TileSize);

    /// <summary>Records a realtime shader over <paramref name="count"/> threads (groups of 64).</summary>
    public void Dispatch1D(string module, int count, ReadOnlySpan<byte> push, uint[] constants, params Tensor[] buffers) =>
        Dispatch(module, push, constants, buffers, (uint)((count + LineSize - 1) / LineSize), 1, LineSize, 1);

    void Dispatch(string module, ReadOnlySpan<byte> push, uint[] constants, Tensor[] buffers, uint gx, uint gy, uint lx, uint ly)
    {
        var spec = new KernelSpec("realtime/" + module, KernelSpec.Buffers(buffers.Length), (uint)push.Length, constants, lx, ly);
        var bindings = buffers.Select(b => Binding.Of(b.Storage)).ToArray();
        Recorder.Dispatch(spec, bindings, push, gx, gy, 1, module);
    }

    /// <summary>Orders shader writes before later shader reads.</summary>
    public void Barrier() => Recorder.Barrier(BarrierKind.ComputeToCompute);

    /// <summary>Copies one float of <paramref name="source"/> into scalar slot <paramref name="slot"/> (with the barriers around it).</summary>
    public void CopyScalar(Tensor source, int sourceIndex, int slot)
    {
        Recorder.Barrier(BarrierKind.ComputeToTransfer);
        Recorder.Copy(source.Storage, Scalars.Storage, 4, (ulong)sourceIndex * 4, (ulong)slot * 4);
        Recorder.Barrier(BarrierKind.TransferToCompute);
    }

    /// <summary>Copies all of <paramref name="source"/> into <paramref name="destination"/> (same size), with the barriers around it.</summary>
    public void Copy(Tensor source, Tensor destination)
    {
        if (source.SizeInBytes != destination.SizeInBytes)
            throw new ArgumentException($"Copy from {source} to {destination}: sizes differ.");
        Recorder.Barrier(BarrierKind.ComputeToTransfer);
        Recorder.Copy(source.Storage, destination.Storage, (ulong)source.SizeInBytes);
        Recorder.Barrier(BarrierKind.TransferToCompute);
    }

    /// <summary>
    /// Copies <paramref name="count"/> floats of <paramref name="source"/> from float <paramref name="sourceStart"/> into
    /// <paramref name="destination"/> at float <paramref name="destinationStart"/>, with the barriers around it.
    /// </summary>
    public void CopyRange(Tensor source, long sourceStart, Tensor destination, long destinationStart, long count)
    {
        if (sourceStart < 0 || destinationStart < 0 || count < 1 || sourceStart + count > source.Elements || destinationStart + count > destination.Elements)
            throw new ArgumentOutOfRangeException(nameof(count), $"Copy of {count} floats from {source} at {sourceStart} to {destination} at {destinationStart} is out of range.");
        Recorder.Barrier(BarrierKind.ComputeToTransfer);
        Recorder.Copy(source.Storage, destination.Storage, (ulong)count * 4, (ulong)sourceStart * 4, (ulong)destinationStart * 4);
        Recorder.Barrier(BarrierKind.TransferToCompute);
    }

    internal static byte[] Push(params object[] words)
    {
        var w = words.Select(o => o switch
        {
            int i => unchecked((uint)i),
            uint u => u,
            float f => BitConverter.SingleToUInt32Bits(f),
            double d => BitConverter.SingleToUInt32Bits((float)d),
            _ => throw new ArgumentException($"Push constant of type {o.GetType().Name}."),
        }).ToArray();
        return PushConstants.Words(w);
    }
}
