namespace Kiln.Embedding;

/// <summary>
/// A range of a VkBuffer a host application owns, as Kiln copies to or from it: the buffer must have been created
/// on the adopted device with VK_BUFFER_USAGE_TRANSFER_SRC_BIT (Kiln reads it) and/or TRANSFER_DST_BIT (Kiln writes
/// it). The bytes are a tensor's f32 values in its layout (NCHW for images). Kiln never destroys the buffer.
/// </summary>
/// <param name="Buffer">VkBuffer handle.</param>
/// <param name="Offset">Byte offset of the range.</param>
/// <param name="Size">Byte size of the range.</param>
public readonly record struct HostBuffer(nint Buffer, ulong Offset, ulong Size);
