namespace Kiln;

/// <summary>
/// How a tensor's dimensions are laid out in memory. 4-D image tensors are NCHW or NHWC; other ranks are
/// row-major (<see cref="RowMajor"/>).
/// </summary>
public enum TensorLayout
{
    /// <summary>Row-major, the last dimension contiguous (vectors, matrices, any rank).</summary>
    RowMajor,
    /// <summary>Batch, channel, height, width; width contiguous.</summary>
    Nchw,
    /// <summary>Batch, height, width, channel; channels contiguous.</summary>
    Nhwc,
}
