using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>Workgroup counts for kernels indexed by one flat invocation index (kiln_element_index in shaders/include/elementwise.glsl).</summary>
internal static class FlatGroups
{
    /// <summary>Workgroups of <paramref name="local"/> invocations covering <paramref name="count"/>, over x then y (x up to 65535).</summary>
    public static (uint X, uint Y, uint Z) For(Emitter e, long count, uint local)
    {
        long groups = (count + local - 1) / local;
        long maxX = Math.Min(e.Device.MaxWorkgroupCount[0], 65535u);
        uint x = (uint)Math.Min(groups, maxX);
        return (x, (uint)((groups + x - 1) / x), 1);
    }
}
