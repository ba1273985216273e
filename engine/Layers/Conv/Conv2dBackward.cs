using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>Conv2d's gradient rule: gradient of the input, the weight and the bias.</summary>
internal static class Conv2dBackward
{
    public static void Emit(BackwardPass b, ConvAttributes a) =>
        throw new GraphException($"{b.Name}: conv2d backward is not written yet.");
}
