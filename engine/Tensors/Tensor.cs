using System.Runtime.InteropServices;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// A tensor in GPU memory: shape, element type and layout, with upload from and download to host memory.
/// Its storage is a range of one of the allocator's blocks; disposing it frees that range once the GPU is
/// done with every submission that used it.
/// </summary>
public sealed class Tensor : IDisposable
{
    internal readonly BufferAllocation Storage;

    public GpuContext Context { get; }
    public Shape Shape { get; }
    public ElementType ElementType { get; }
    public TensorLayout Layout { get; }
    public string Name { get; }
    public long Elements => Shape.Elements;
    public long SizeInBytes => Shape.Elements * ElementType.SizeInBytes();
    public bool IsDisposed => Storage.IsDisposed;

    /// <summary>A new tensor, contents undefined until uploaded or written by a kernel.</summary>
    public Tensor(GpuContext context, Shape shape, ElementType type = ElementType.F32, TensorLayout? layout = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(shape);
        Context = context;
        Shape = shape;
        ElementType = type;
        Layout = layout ?? (shape.Rank == 4 ? TensorLayout.Nchw : TensorLayout.RowMajor);
        if (Layout != TensorLayout.RowMajor && shape.Rank != 4)
            throw new ArgumentException($"Layout {Layout} needs a 4-D shape, got {shape}.");
        Name = name ?? "tensor";
        Storage = context.Allocator.Allocate(SizeInBytes, Describe());
    }

    /// <summary>A new f32 tensor holding <paramref name="data"/>.</summary>
    public static Tensor From(GpuContext context, Shape shape, ReadOnlySpan<float> data, string? name = null)
    {
        var t = new Tensor(context, shape, ElementType.F32, null, name);
        try { t.Upload(data); }
        catch { t.Dispose(); throw; }
        return t;
    }

    string Describe() => $"tensor '{Name}' {Shape} {ElementType.Name()}";

    public override string ToString() => Describe();

    public void Upload(ReadOnlySpan<float> data) => Upload(data, ElementType.F32);
    public void Upload(ReadOnlySpan<Half> data) => Upload(data, ElementType.F16);

    void Upload<T>(ReadOnlySpan<T> data, ElementType type) where T : unmanaged
    {
        Check(type, data.Length, "upload");
        Context.Transfers.Upload(Storage, MemoryMarshal.AsBytes(data));
    }

    /// <summary>
    /// Starts uploading and returns at once; the copy runs on the GPU after the work already submitted and
    /// before work submitted later. <paramref name="data"/> is copied before this returns.
    /// </summary>
    public Submission UploadAsync(ReadOnlySpan<float> data)
    {
        Check(ElementType.F32, data.Length, "upload");
        return Context.Transfers.UploadAsync(Storage, MemoryMarshal.AsBytes(data));
    }

    public void Download(Span<float> destination) => Download(destination, ElementType.F32);
    public void Download(Span<Half> destination) => Download(destination, ElementType.F16);

    void Download<T>(Span<T> destination, ElementType type) where T : unmanaged
    {
        Check(type, destination.Length, "download");
        Context.Transfers.Download(Storage, MemoryMarshal.AsBytes(destination));
    }

    /// <summary>
    /// Starts copying the values to host memory and returns at once; the copy runs after the work already
    /// submitted (a recorded step, say), so the host can go on while the GPU finishes. Read the result from the
    /// returned <see cref="TensorDownload"/> and dispose it.
    /// </summary>
    public TensorDownload DownloadAsync()
    {
        Storage.ThrowIfDisposed();
        var (submission, staging) = Context.Transfers.DownloadAsync(Storage, (ulong)SizeInBytes);
        return new TensorDownload(submission, staging, Describe(), checked((int)Elements), ElementType);
    }

    /// <summary>Downloads the values into a new f32 array (an f16 tensor's widened, exactly).</summary>
    public float[] ToArray()
    {
        var result = new float[Elements];
        if (ElementType == ElementType.F16)
        {
            var half = new Half[Elements];
            Download(half.AsSpan());
            for (int i = 0; i < half.Length; i++) result[i] = (float)half[i];
            return result;
        }
        Download(result.AsSpan());
        return result;
    }

    void Check(ElementType type, int length, string what)
    {
        Storage.ThrowIfDisposed();
        if (type != ElementType)
            throw new ArgumentException($"{what} of {type.Name()} values into {Describe()}: the element types differ.");
        if (length != Elements)
            throw new ArgumentException($"{what} of {length} values into {Describe()}, which holds {Elements}.");
    }

    public void Dispose() => Storage.Dispose();
}
