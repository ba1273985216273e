using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// VK_EXT_debug_utils object names and command-buffer labels on Kiln's objects and passes, so RenderDoc, Nsight
/// and the validation layer's messages show them. Made only when the instance has the extension enabled
/// (Kiln's own instance with validation, or a host that says so with <see cref="HostDeviceFeatures.DebugUtils"/>).
/// </summary>
internal sealed unsafe class DebugUtils
{
    readonly Device device;
    readonly delegate* unmanaged<Device, DebugUtilsObjectNameInfoEXT*, Result> setName;
    readonly delegate* unmanaged<CommandBuffer, DebugUtilsLabelEXT*, void> beginLabel;
    readonly delegate* unmanaged<CommandBuffer, void> endLabel;
    int named, labels;

    DebugUtils(Device device, nint setName, nint beginLabel, nint endLabel)
    {
        this.device = device;
        this.setName = (delegate* unmanaged<Device, DebugUtilsObjectNameInfoEXT*, Result>)setName;
        this.beginLabel = (delegate* unmanaged<CommandBuffer, DebugUtilsLabelEXT*, void>)beginLabel;
        this.endLabel = (delegate* unmanaged<CommandBuffer, void>)endLabel;
    }

    /// <summary>The extension's functions, or null when the instance doesn't provide them.</summary>
    public static DebugUtils? Load(Vk vk, Instance instance, Device device)
    {
        nint set = (nint)vk.GetInstanceProcAddr(instance, "vkSetDebugUtilsObjectNameEXT");
        nint begin = (nint)vk.GetInstanceProcAddr(instance, "vkCmdBeginDebugUtilsLabelEXT");
        nint end = (nint)vk.GetInstanceProcAddr(instance, "vkCmdEndDebugUtilsLabelEXT");
        return set == 0 || begin == 0 || end == 0 ? null : new DebugUtils(device, set, begin, end);
    }

    /// <summary>Objects named and labels begun so far (what the tests check besides the layer's silence).</summary>
    public (int Named, int Labels) Counts => (Volatile.Read(ref named), Volatile.Read(ref labels));

    public void Name(ObjectType type, ulong handle, string name)
    {
        var text = (byte*)SilkMarshal.StringToPtr("Kiln: " + name);
        try
        {
            var info = new DebugUtilsObjectNameInfoEXT { SType = StructureType.DebugUtilsObjectNameInfoExt, ObjectType = type, ObjectHandle = handle, PObjectName = text };
            setName(device, &info);
            Interlocked.Increment(ref named);
        }
        finally { SilkMarshal.Free((nint)text); }
    }

    public void BeginLabel(CommandBuffer cmd, string name)
    {
        var text = (byte*)SilkMarshal.StringToPtr("Kiln: " + name);
        try
        {
            var label = new DebugUtilsLabelEXT { SType = StructureType.DebugUtilsLabelExt, PLabelName = text };
            beginLabel(cmd, &label);
            Interlocked.Increment(ref labels);
        }
        finally { SilkMarshal.Free((nint)text); }
    }

    public void EndLabel(CommandBuffer cmd) => endLabel(cmd);
}
