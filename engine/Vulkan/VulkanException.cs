using Silk.NET.Vulkan;

namespace Kiln;

/// <summary>A Vulkan call failed; <see cref="Result"/> names the VkResult and the message says which call.</summary>
public sealed class VulkanException : KilnException
{
    public string ResultName { get; }

    internal VulkanException(string call, Result result)
        : base(result == Result.ErrorDeviceLost
            ? $"{call} failed: the Vulkan device was lost (VK_ERROR_DEVICE_LOST). The context can no longer be used; dispose it and create a new one."
            : $"{call} failed with {result}.")
    {
        ResultName = result.ToString();
    }

    internal static void Check(Result result, string call)
    {
        if (result != Result.Success) throw new VulkanException(call, result);
    }
}
