using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>Shared helpers of the normalisation group (softmax, global pooling, dropout, batch norm).</summary>
internal static class NormKernels
{
    /// <summary>Local size of the one-workgroup-per-item reductions (global pooling).</summary>
    public const uint ReduceLocal = 64;

    /// <summary>One workgroup per item, spread over x and y (x up to 65535).</summary>
    public static (uint X, uint Y, uint Z) PerItemGroups(long items)
    {
        uint x = (uint)Math.Min(items, 65535);
        uint y = (uint)((items + x - 1) / x);
        return (x, y, 1);
    }

    /// <summary>y = x elementwise (a copy).</summary>
    public static void Copy(Emitter e, Value x, Value y, string label) => e.Unary(Activation.None, 0, x, y, label);
}
