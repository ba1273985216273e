namespace Kiln;

/// <summary>
/// Handles of a Vulkan device that a host application (a game engine, a renderer) created and owns.
/// Kiln adopts it through <see cref="GpuContext.Adopt"/> and never destroys any of these.
/// </summary>
/// <param name="Instance">VkInstance.</param>
/// <param name="PhysicalDevice">VkPhysicalDevice.</param>
/// <param name="Device">VkDevice; it must have been created with at least Vulkan 1.1 and a compute-capable queue.</param>
/// <param name="QueueFamilyIndex">Family of <paramref name="Queue"/>; it must support compute.</param>
/// <param name="Queue">VkQueue Kiln may submit its own work to (uploads, downloads, its own command lists).
/// The host must not use the queue from another thread while Kiln submits.</param>
/// <param name="EnabledFeatures">Which optional features the host enabled on the device (Kiln can't query that).</param>
public readonly record struct HostDevice(
    nint Instance, nint PhysicalDevice, nint Device, uint QueueFamilyIndex, nint Queue,
    HostDeviceFeatures EnabledFeatures = HostDeviceFeatures.None);

/// <summary>Optional device features a host enabled when it created the device Kiln adopts.</summary>
[Flags]
public enum HostDeviceFeatures
{
    None = 0,
    ShaderFloat16 = 1,
    StorageBuffer16BitAccess = 2,
    CooperativeMatrix = 4,
    /// <summary>The instance has VK_EXT_debug_utils enabled: Kiln names its objects and labels its passes.</summary>
    DebugUtils = 8,
}
