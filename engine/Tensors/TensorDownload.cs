using System.Runtime.InteropServices;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// A download in flight (<see cref="Tensor.DownloadAsync"/>): the tensor's values are copied into a host-visible
/// buffer of its own by a submission that runs after the work already on the queue, so the host keeps going while
/// the GPU finishes. Poll <see cref="IsCompleted"/> (never blocks) or call <see cref="CopyTo(Span{float})"/> / <see cref="ToArray"/>
/// (which wait, with the submission's timeout). Dispose it to release the buffer.
/// </summary>
public sealed class TensorDownload : IDisposable
{
    readonly StagingBuffer staging;
    readonly string what;
    readonly int elements;
    readonly ElementType type;

    internal TensorDownload(Submission submission, StagingBuffer staging, string what, int elements, ElementType type)
    {
        Submission = submission;
        this.staging = staging;
        this.what = what;
        this.elements = elements;
        this.type = type;
    }

    /// <summary>The copy's submission.</summary>
    public Submission Submission { get; }

    /// <summary>True once the values have arrived; never blocks.</summary>
    public bool IsCompleted => Submission.IsCompleted;

    /// <summary>Waits for the copy (see <see cref="Kiln.Submission.Wait"/>) and copies the f32 values into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination) => CopyTo(destination, ElementType.F32);

    /// <summary>Waits for the copy and copies the f16 values into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<Half> destination) => CopyTo(destination, ElementType.F16);

    /// <summary>Waits for the copy and returns the f32 values.</summary>
    public float[] ToArray()
    {
        var result = new float[elements];
        CopyTo(result.AsSpan());
        return result;
    }

    void CopyTo<T>(Span<T> destination, ElementType asked) where T : unmanaged
    {
        staging.ThrowIfDisposed();
        if (asked != type)
            throw new ArgumentException($"download of {what} read as {asked.Name()} values: the tensor holds {type.Name()}.");
        if (destination.Length != elements)
            throw new ArgumentException($"download of {what} into {destination.Length} values: it holds {elements}.");
        Submission.Wait();
        var bytes = MemoryMarshal.AsBytes(destination);
        unsafe { new ReadOnlySpan<byte>(staging.Block.Mapped, bytes.Length).CopyTo(bytes); }
    }

    /// <summary>Releases the host buffer (after the copy, if it is still running).</summary>
    public void Dispose() => staging.Dispose();
}
